"""Inbound gateway webhooks. Authenticated by the gateway's signature (checked with the
organization's signing secret), not by a session, hence CSRF-exempt."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments.services.webhooks import inbound_webhook_receive


def _receive(request: HttpRequest, gateway: str, org_slug: str) -> HttpResponse:
    outcome = inbound_webhook_receive(
        gateway=gateway,
        org_slug=org_slug,
        body=request.body,
        headers=dict(request.headers),
        query=request.GET.dict(),
    )
    return HttpResponse(outcome.outcome, status=outcome.status_code, content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _receive(request, "stripe", org_slug)


@csrf_exempt
@require_POST
def mercadopago_webhook(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _receive(request, "mercadopago", org_slug)
