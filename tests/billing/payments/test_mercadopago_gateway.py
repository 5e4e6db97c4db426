"""The Mercado Pago adapter, through the official SDK, against a local API that follows
Mercado Pago's documented shapes; signed notifications."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse

from billing.gateways import gateway_for
from billing.gateways.base import GatewayUnknownOutcome
from billing.gateways.mercadopago import MercadoPagoGateway
from billing.models import CreditNote, InvoiceStatus
from billing.payments.models import (
    AttemptStatus,
    GatewayAccount,
    InboundWebhook,
    PaymentMethod,
    Refund,
)
from billing.payments.services.charging import (
    invoice_pay_now,
    payment_attempt_create,
    payment_attempt_execute,
    payments_janitor_run,
)
from billing.payments.services.methods import payment_method_add_card
from billing.payments.services.refunds import payment_refund
from cobro import clock
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory
from tests.billing.payments.conftest import open_invoice
from tests.billing.payments.mercadopago_fake import MercadoPagoFake

pytestmark = pytest.mark.django_db
MP_SECRET = "mp-webhook-secret"


@pytest.fixture
def mp(org, settings):
    with MercadoPagoFake() as fake:
        settings.MERCADOPAGO_API_BASE = fake.url
        GatewayAccount.unscoped.create(
            organization=org,
            gateway="mercadopago",
            credentials=json.dumps({"access_token": "TEST-123-abc"}),
            webhook_secret=MP_SECRET,
        )
        yield fake


def mp_customer(org, holder="APRO", number="5031755734530604"):
    with use_organization(org):
        customer = CustomerFactory(organization=org, name="Ana Rojas")
    payment_method_add_card(
        customer=customer, gateway="mercadopago", token=f"tok_{holder}_{number}"
    )
    return customer


def test_saved_card_is_charged_with_our_idempotency_key(org, mp):
    customer = mp_customer(org)
    method = PaymentMethod.unscoped.get(customer=customer)
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
        "master",
        "0604",
        11,
        2030,
    )
    invoice = open_invoice(customer, 15_990)
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.SUCCEEDED
    (payment,) = mp.payments.values()
    assert str(payment["id"]) == attempt.gateway_reference
    assert payment["transaction_amount"] == 15_990  # CLP has no decimals
    assert payment["external_reference"] == attempt.idempotency_key
    sent = [h for m, p, h in mp.requests if p == "/v1/payments"]
    assert sent[0]["x-idempotency-key"] == attempt.idempotency_key
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_rejected_payment_maps_to_a_soft_decline(org, mp):
    invoice = open_invoice(mp_customer(org, holder="FUND"))
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "insufficient_funds"
    assert not attempt.hard_decline


def test_a_resent_charge_with_the_same_key_is_one_payment_at_mercadopago(org, mp):
    customer = mp_customer(org)
    method = PaymentMethod.unscoped.get(customer=customer)
    gateway = gateway_for("mercadopago", organization=org)
    kwargs = dict(
        amount_minor=1000,
        currency="CLP",
        customer_ref=method.gateway_customer_id,
        method_token=method.gateway_token,
        idempotency_key="cobro-inv1-att1",
    )
    first, second = gateway.charge(**kwargs), gateway.charge(**kwargs)
    assert first.reference == second.reference
    assert len(mp.payments) == 1


def test_partial_refund_at_mercadopago_issues_a_credit_note(org, mp):
    invoice = open_invoice(mp_customer(org), 10_000)
    attempt = invoice_pay_now(invoice=invoice)
    refund = payment_refund(attempt=attempt, amount_minor=4_000)
    assert refund.status == Refund.Status.SUCCEEDED
    (payment,) = mp.payments.values()
    assert payment["transaction_amount_refunded"] == 4_000
    assert CreditNote.unscoped.filter(invoice=invoice).count() == 1


def test_janitor_finds_a_lost_payment_by_external_reference(org, mp, monkeypatch):
    invoice = open_invoice(mp_customer(org))
    real = MercadoPagoGateway.charge

    def charge_then_lose_the_answer(self, **kwargs):
        real(self, **kwargs)
        raise GatewayUnknownOutcome("read timeout")

    monkeypatch.setattr(MercadoPagoGateway, "charge", charge_then_lose_the_answer)
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    assert payment_attempt_execute(attempt_id=attempt.pk).status == AttemptStatus.UNKNOWN
    payments_janitor_run(now=clock.now() + timedelta(hours=1))
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert len(mp.payments) == 1


# --- notifications ---------------------------------------------------------------------------


def notify(client, org, data_id, *, notification_id=1, ts=None, secret=MP_SECRET, query_id=None):
    """A notification as Mercado Pago sends it: x-signature over the documented manifest."""
    ts = int(time.time()) if ts is None else ts
    request_id = f"req-{notification_id}"
    manifest = f"id:{data_id};request-id:{request_id};ts:{ts};"
    v1 = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    body = {
        "id": notification_id,
        "live_mode": False,
        "type": "payment",
        "action": "payment.updated",
        "api_version": "v1",
        "data": {"id": str(data_id)},
    }
    url = reverse("webhooks:mercadopago", kwargs={"org_slug": org.slug})
    return client.post(
        f"{url}?data.id={query_id or data_id}&type=payment",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_SIGNATURE=f"ts={ts},v1={v1}",
        HTTP_X_REQUEST_ID=request_id,
    )


def _unknown_attempt(org, mp, monkeypatch):
    invoice = open_invoice(mp_customer(org), 10_000)
    real = MercadoPagoGateway.charge

    def charge_then_lose_the_answer(self, **kwargs):
        real(self, **kwargs)
        raise GatewayUnknownOutcome("read timeout")

    monkeypatch.setattr(MercadoPagoGateway, "charge", charge_then_lose_the_answer)
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    payment_attempt_execute(attempt_id=attempt.pk)
    monkeypatch.undo()
    (payment,) = mp.payments.values()
    return attempt, payment["id"]


def test_signed_notification_settles_the_payment_and_a_replay_does_nothing(
    client, org, mp, monkeypatch
):
    attempt, payment_id = _unknown_attempt(org, mp, monkeypatch)
    assert notify(client, org, payment_id).status_code == 200
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    replay = notify(client, org, payment_id)
    assert replay.status_code == 200 and replay.content == b"duplicate"
    assert InboundWebhook.unscoped.count() == 1


def test_refund_made_at_mercadopago_is_recorded_from_its_notification(client, org, mp, monkeypatch):
    attempt, payment_id = _unknown_attempt(org, mp, monkeypatch)
    mp.handle(
        "POST",
        f"/v1/payments/{payment_id}/refunds",
        {},
        {"amount": 2500},
        {"Authorization": "Bearer x"},
    )
    assert notify(client, org, payment_id, notification_id=2).status_code == 200
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PARTIALLY_REFUNDED
    assert attempt.refunded_minor == 2_500
    assert notify(client, org, payment_id, notification_id=3).status_code == 200
    assert Refund.unscoped.count() == 1  # the same refund is applied once


def test_tampered_or_stale_notifications_are_rejected(client, org, mp, monkeypatch):
    attempt, payment_id = _unknown_attempt(org, mp, monkeypatch)
    other_id = int(payment_id) + 1
    assert notify(client, org, payment_id, query_id=other_id).status_code == 400
    assert notify(client, org, payment_id, secret="wrong").status_code == 400
    assert notify(client, org, payment_id, ts=int(time.time()) - 3600).status_code == 400
    assert not InboundWebhook.unscoped.exists()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.UNKNOWN
