"""Inbound gateway webhooks, mounted at ``/webhooks/`` by cobro/urls.py."""

from django.urls import path

from billing.payments.views import webhooks

app_name = "webhooks"

urlpatterns = [
    path("stripe/<slug:org_slug>/", webhooks.stripe_webhook, name="stripe"),
    path("mercadopago/<slug:org_slug>/", webhooks.mercadopago_webhook, name="mercadopago"),
]
