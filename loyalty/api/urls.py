"""Routes of the loyalty API (composed into /api/v1/ by cobro/api/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from loyalty.api import points, views

router = SimpleRouter(trailing_slash=False)
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("loyalty_entries", points.PointsEntryViewSet, basename="loyalty_entry")
router.register("loyalty_rewards", points.RewardViewSet, basename="loyalty_reward")
router.register("loyalty_redemptions", points.RedemptionViewSet, basename="loyalty_redemption")

urlpatterns = [
    path(
        "customers/<str:customer_id>/referral_code",
        views.CustomerReferralCodeView.as_view(),
        name="customer_referral_code",
    ),
    path(
        "customers/<str:customer_id>/loyalty",
        points.CustomerLoyaltyView.as_view(),
        name="customer_loyalty",
    ),
    path(
        "customers/<str:customer_id>/loyalty/adjustments",
        points.CustomerPointsAdjustmentView.as_view(),
        name="customer_loyalty_adjustments",
    ),
    *router.urls,
]
