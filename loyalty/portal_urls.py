"""Customer portal URLs of the loyalty app (mounted under /p/<org_slug>/, namespace
"portal")."""

from django.urls import path

from loyalty.views import portal as v

urlpatterns: list = [
    path("points/", v.LoyaltyPortalView.as_view(), name="loyalty"),
    path("points/rewards/<int:pk>/redeem/", v.RedeemPortalView.as_view(), name="loyalty_redeem"),
]
