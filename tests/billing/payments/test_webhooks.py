"""Inbound Stripe webhooks: signed, once, in any order."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections import Counter

import pytest
import stripe
from django.urls import reverse

from billing.gateways.base import GatewayUnknownOutcome
from billing.gateways.stripe import StripeGateway
from billing.models import CreditNote, Invoice
from billing.payments.models import (
    AttemptStatus,
    GatewayAccount,
    InboundWebhook,
    PaymentAttempt,
    Refund,
)
from billing.payments.services.charging import payment_attempt_create, payment_attempt_execute
from cobro.models import OutboxEvent
from tests.billing.payments.conftest import (
    STRIPE_TEST_KEY,
    STRIPE_WEBHOOK_SECRET,
    open_invoice,
    stripe_card_customer,
)

pytestmark = pytest.mark.django_db


def sign(body: bytes, *, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe's documented scheme: v1 = HMAC-SHA256(secret, "<t>.<body>")."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), b"%d.%s" % (t, body), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def deliver(client, org, event: dict, *, signature: str | None = None, body: bytes | None = None):
    body = body if body is not None else json.dumps(event).encode()
    return client.post(
        reverse("webhooks:stripe", kwargs={"org_slug": org.slug}),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(body),
    )


def _lose_answers(monkeypatch):
    real = StripeGateway.charge

    def charge_then_lose_the_answer(self, **kwargs):
        real(self, **kwargs)
        raise GatewayUnknownOutcome("read timeout")

    monkeypatch.setattr(StripeGateway, "charge", charge_then_lose_the_answer)


def _stripe(url):
    return stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": url})


def _event(type_: str, obj: dict) -> dict:
    return {
        "id": f"evt_{obj['id']}_{type_.replace('.', '_')}_{time.monotonic_ns()}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def scenario(org, url, monkeypatch) -> list[dict]:
    """Two charges whose answers were lost (one paid, one declined by card 0341), two refunds
    and a dispute made at Stripe. Returns the events Stripe would send."""
    client = _stripe(url)
    paid = open_invoice(stripe_card_customer(org, url), 10_000)
    declined = open_invoice(stripe_card_customer(org, url, number="4000000000000341"), 5_000)
    _lose_answers(monkeypatch)
    for invoice in (paid, declined):
        attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
        assert payment_attempt_execute(attempt_id=attempt.pk).status == AttemptStatus.UNKNOWN
    monkeypatch.undo()
    intents = {
        pi.metadata["cobro_idempotency_key"]: pi
        for pi in client.v1.payment_intents.list(params={"limit": 100}).data
    }
    paid_pi = intents[PaymentAttempt.unscoped.get(invoice=paid).idempotency_key]
    declined_pi = intents[PaymentAttempt.unscoped.get(invoice=declined).idempotency_key]
    events = [
        _event("payment_intent.succeeded", paid_pi.to_dict()),
        _event("payment_intent.payment_failed", declined_pi.to_dict()),
    ]
    charge_id = paid_pi.latest_charge
    charge_id = charge_id if isinstance(charge_id, str) else charge_id.id
    refunds = []
    for amount in (3_000, 2_000):  # refunded in Stripe's dashboard
        refunds.append(
            client.v1.refunds.create(params={"charge": charge_id, "amount": amount}).to_dict()
        )
        charge = client.v1.charges.retrieve(charge_id).to_dict()
        charge["refunds"] = {"object": "list", "data": list(refunds)}
        events.append(_event("charge.refunded", charge))
    dispute = {
        "id": f"dp_{charge_id}",
        "object": "dispute",
        "amount": 5_000,
        "charge": charge_id,
        "payment_intent": paid_pi.id,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    events.append(_event("charge.dispute.created", dispute))
    return events


def state(org) -> dict:
    attempts = sorted(
        (a.amount_minor, a.status, a.refunded_minor, a.disputed, a.decline_code)
        for a in PaymentAttempt.unscoped.filter(organization=org)
    )
    invoices = sorted(
        (i.total_minor, i.status, i.amount_paid_minor)
        for i in Invoice.unscoped.filter(organization=org)
    )
    refunds = sorted((r.amount_minor, r.status) for r in Refund.unscoped.filter(organization=org))
    notes = sorted(n.total_minor for n in CreditNote.unscoped.filter(organization=org))
    events = Counter(
        OutboxEvent.unscoped.filter(organization=org, type__startswith="payment.").values_list(
            "type", flat=True
        )
    )
    return {
        "attempts": attempts,
        "invoices": invoices,
        "refunds": refunds,
        "notes": notes,
        "events": events,
    }


@pytest.fixture
def stripe_other_org(other_org, stripe_org):
    GatewayAccount.unscoped.create(
        organization=other_org,
        gateway="stripe",
        credentials=json.dumps({"secret_key": STRIPE_TEST_KEY}),
        webhook_secret=STRIPE_WEBHOOK_SECRET,
    )
    return other_org


@pytest.mark.parametrize("seed", [1, 2])
def test_webhooks_three_times_shuffled_end_like_one_in_order_delivery(
    client, stripe_org, stripe_other_org, localstripe_url, monkeypatch, seed
):
    in_order = scenario(stripe_org, localstripe_url, monkeypatch)
    for event in in_order:
        assert deliver(client, stripe_org, event).status_code == 200
    expected = state(stripe_org)
    assert expected["attempts"] == [
        (5_000, AttemptStatus.FAILED, 0, False, "card_declined"),
        (10_000, AttemptStatus.PARTIALLY_REFUNDED, 5_000, True, ""),
    ]
    assert expected["refunds"] == [(2_000, "succeeded"), (3_000, "succeeded")]
    assert expected["events"]["payment.disputed"] == 1

    shuffled = scenario(stripe_other_org, localstripe_url, monkeypatch) * 3
    random.Random(seed).shuffle(shuffled)
    for event in shuffled:
        assert deliver(client, stripe_other_org, event).status_code == 200
    assert state(stripe_other_org) == expected
    assert InboundWebhook.unscoped.filter(organization=stripe_other_org).count() == 5


def _one_event(org, url):
    invoice = open_invoice(stripe_card_customer(org, url), 10_000)
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    return attempt, {
        "id": "evt_test_1",
        "object": "event",
        "type": "charge.dispute.created",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "dp_1",
                "object": "dispute",
                "amount": 10_000,
                "payment_intent": "pi_unknown",
                "reason": "fraudulent",
                "metadata": {"cobro_idempotency_key": attempt.idempotency_key},
            }
        },
    }


def test_tampered_webhook_is_rejected_with_no_effect(client, stripe_org, localstripe_url):
    attempt, event = _one_event(stripe_org, localstripe_url)
    body = json.dumps(event).encode()
    signature = sign(body)
    tampered = body.replace(b"fraudulent", b"duplicate_")
    assert deliver(client, stripe_org, event, signature=signature, body=tampered).status_code == 400
    assert (
        deliver(client, stripe_org, event, signature=sign(body, secret="whsec_wrong")).status_code
        == 400
    )
    assert deliver(client, stripe_org, event, signature="").status_code == 400
    assert not InboundWebhook.unscoped.exists()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PENDING and not attempt.disputed


def test_stale_webhook_is_rejected_with_no_effect(client, stripe_org, localstripe_url):
    attempt, event = _one_event(stripe_org, localstripe_url)
    body = json.dumps(event).encode()
    stale = sign(body, at=int(time.time()) - 3600)
    assert deliver(client, stripe_org, event, signature=stale, body=body).status_code == 400
    assert not InboundWebhook.unscoped.exists()
    assert not OutboxEvent.unscoped.filter(type="payment.disputed").exists()


def test_dispute_marks_the_payment_and_notifies_staff_once(client, stripe_org, localstripe_url):
    attempt, event = _one_event(stripe_org, localstripe_url)
    assert deliver(client, stripe_org, event).status_code == 200
    replay = deliver(client, stripe_org, event)
    assert replay.status_code == 200 and replay.content == b"duplicate"
    attempt.refresh_from_db()
    assert attempt.disputed
    (notice,) = OutboxEvent.unscoped.filter(type="payment.disputed")
    assert notice.payload["dispute_reason"] == "fraudulent"
    assert notice.payload["invoice_id"] == attempt.invoice_id


def test_unknown_event_type_is_acknowledged_and_ignored(client, stripe_org, localstripe_url):
    event = {"id": "evt_x", "type": "customer.updated", "data": {"object": {"id": "cus_1"}}}
    response = deliver(client, stripe_org, event)
    assert response.status_code == 200 and response.content == b"ignored"
    assert InboundWebhook.unscoped.get().outcome == "ignored"


def test_webhook_for_unknown_organization_or_unconfigured_gateway(client, stripe_org, org):
    event = {"id": "evt_y", "type": "customer.updated", "data": {"object": {}}}
    body = json.dumps(event).encode()
    url = reverse("webhooks:stripe", kwargs={"org_slug": "nobody"})
    assert client.post(url, body, content_type="application/json").status_code == 404
    GatewayAccount.unscoped.filter(organization=org).update(webhook_secret="")
    assert deliver(client, org, event).status_code == 400
