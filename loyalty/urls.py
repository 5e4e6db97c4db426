"""Staff dashboard URLs of this app (mounted by cobro/urls.py under the app namespace)."""

from django.urls import path

from loyalty.views import dashboard as v

app_name = "loyalty"

urlpatterns: list = [
    path("", v.HomeView.as_view(), name="home"),
    path("settings/", v.SettingsView.as_view(), name="settings"),
    path("tiers/new/", v.TierFormView.as_view(), name="tier_create"),
    path("tiers/<int:pk>/", v.TierFormView.as_view(), name="tier_update"),
    path("rewards/new/", v.RewardFormView.as_view(), name="reward_create"),
    path("rewards/<int:pk>/", v.RewardFormView.as_view(), name="reward_update"),
    path("customers/<int:pk>/", v.CustomerLedgerView.as_view(), name="customer"),
    path("customers/<int:pk>/redeem/", v.CustomerRedeemView.as_view(), name="customer_redeem"),
    path(
        "customers/<int:pk>/referral/",
        v.CustomerReferralApplyView.as_view(),
        name="customer_referral",
    ),
    path("referrals/", v.ReferralListView.as_view(), name="referrals"),
    path("fulfilment/", v.FulfilmentQueueView.as_view(), name="fulfilment"),
    path(
        "redemptions/<int:pk>/fulfil/",
        v.RedemptionActionView.as_view(action="fulfil"),
        name="redemption_fulfil",
    ),
    path(
        "redemptions/<int:pk>/cancel/",
        v.RedemptionActionView.as_view(action="cancel"),
        name="redemption_cancel",
    ),
]
