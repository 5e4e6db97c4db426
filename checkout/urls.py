"""Staff dashboard URLs of the checkout app (namespace "checkout")."""

from django.urls import path

from checkout.views import dashboard as v

app_name = "checkout"

urlpatterns = [
    path("", v.LinkListView.as_view(), name="links"),
    path("links/new/", v.LinkCreateView.as_view(), name="link_create"),
    path("links/<int:pk>/", v.LinkDetailView.as_view(), name="link_detail"),
    path("links/<int:pk>/qr.svg", v.LinkQrView.as_view(), name="link_qr"),
    path("links/<int:pk>/disable/", v.LinkDisableView.as_view(), name="link_disable"),
    path("pricing-page/", v.PricingPageSettingsView.as_view(), name="pricing_settings"),
    path("sign-ups/", v.SessionListView.as_view(), name="sessions"),
]
