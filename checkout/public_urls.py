"""Public subscribe pages (mounted under /s/<org_slug>/, namespace "public")."""

from django.urls import path

from checkout.views import public

app_name = "public"

urlpatterns = [
    path("", public.PricingView.as_view(), name="pricing"),
    path("buy/<int:price_id>/", public.PriceCheckoutView.as_view(), name="buy"),
    path("l/<str:code>/", public.LinkCheckoutView.as_view(), name="link"),
    path("c/<str:token>/", public.ResultView.as_view(), name="result"),
]
