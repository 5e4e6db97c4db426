"""The Stripe adapter against localstripe, through the official SDK."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe

from billing.gateways.base import GatewayUnknownOutcome
from billing.gateways.stripe import IDEMPOTENCY_METADATA_KEY, StripeGateway
from billing.models import CreditNote, InvoiceStatus
from billing.payments.models import (
    AttemptStatus,
    DunningCase,
    GatewayCustomer,
    PaymentAttempt,
    PaymentMethod,
    Refund,
)
from billing.payments.services.charging import (
    invoice_pay_now,
    payment_attempt_create,
    payment_attempt_execute,
    payments_janitor_run,
)
from billing.payments.services.refunds import payment_refund
from cobro import clock
from tests.billing.payments.conftest import (
    STRIPE_TEST_KEY,
    open_invoice,
    stripe_card_customer,
)

pytestmark = pytest.mark.django_db


def _stripe(url: str) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": url})


def _intents(url: str) -> list:
    return list(_stripe(url).v1.payment_intents.list(params={"limit": 100}).data)


def test_saving_a_card_keeps_the_token_brand_last4_and_expiry_only(stripe_org, localstripe_url):
    customer = stripe_card_customer(stripe_org, localstripe_url, email="ana@example.com")
    method = PaymentMethod.unscoped.get(customer=customer)
    assert method.gateway == "stripe"
    assert method.gateway_token.startswith("pm_")
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
        "visa",
        "4242",
        12,
        2030,
    )
    assert method.is_default
    ref = GatewayCustomer.unscoped.get(customer=customer, gateway="stripe").reference
    assert method.gateway_customer_id == ref
    # The card is attached to the customer at Stripe, so it can be charged off-session.
    pm = _stripe(localstripe_url).v1.payment_methods.retrieve(method.gateway_token)
    assert pm.customer == ref
    assert "4242424242424242" not in str(PaymentMethod.unscoped.filter(pk=method.pk).values())


def test_second_setup_for_the_same_customer_reuses_the_stripe_customer(stripe_org, localstripe_url):
    from billing.payments.services.methods import card_setup_start

    customer = stripe_card_customer(stripe_org, localstripe_url)
    start = card_setup_start(customer=customer, gateway="stripe")
    assert start.customer_ref == GatewayCustomer.unscoped.get(customer=customer).reference
    assert start.client_secret.startswith(start.setup_intent_id)
    assert len(_stripe(localstripe_url).v1.customers.list().data) == 1


def test_off_session_charge_pays_the_invoice_with_our_idempotency_key(stripe_org, localstripe_url):
    invoice = open_invoice(stripe_card_customer(stripe_org, localstripe_url), 25_000)
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.gateway_reference.startswith("pi_")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    (intent,) = _intents(localstripe_url)
    assert intent.id == attempt.gateway_reference
    assert intent.amount == 25_000 and intent.currency == "clp"
    assert intent.metadata[IDEMPOTENCY_METADATA_KEY] == attempt.idempotency_key


def test_card_0341_attaches_then_declines_at_charge(stripe_org, localstripe_url):
    customer = stripe_card_customer(stripe_org, localstripe_url, number="4000000000000341")
    assert PaymentMethod.unscoped.get(customer=customer).last4 == "0341"  # saving worked
    invoice = open_invoice(customer)
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "card_declined"
    assert "declined" in attempt.decline_message
    assert attempt.hard_decline is False  # a soft decline: dunning retries it
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    case = DunningCase.unscoped.get(invoice=invoice)
    assert case.next_retry_at is not None


def test_partial_then_full_refund_at_stripe_with_credit_notes(stripe_org, localstripe_url):
    invoice = open_invoice(stripe_card_customer(stripe_org, localstripe_url), 10_000)
    attempt = invoice_pay_now(invoice=invoice)
    first = payment_refund(attempt=attempt, amount_minor=3_000, reason="damaged")
    assert first.status == Refund.Status.SUCCEEDED
    assert first.gateway_reference.startswith("re_")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PARTIALLY_REFUNDED
    payment_refund(attempt=attempt)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.REFUNDED
    assert attempt.refunded_minor == 10_000
    charge = _stripe(localstripe_url).v1.charges.list().data[0]
    assert charge.amount_refunded == 10_000
    assert CreditNote.unscoped.filter(invoice=invoice).count() == 2


def test_unknown_outcome_is_settled_by_the_janitor_by_asking_stripe(
    stripe_org, localstripe_url, monkeypatch
):
    invoice = open_invoice(stripe_card_customer(stripe_org, localstripe_url), 9_000)
    real_charge = StripeGateway.charge

    def charge_then_lose_the_answer(self, **kwargs):
        real_charge(self, **kwargs)
        raise GatewayUnknownOutcome("read timeout")

    monkeypatch.setattr(StripeGateway, "charge", charge_then_lose_the_answer)
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    attempt = payment_attempt_execute(attempt_id=attempt.pk)
    assert attempt.status == AttemptStatus.UNKNOWN
    assert attempt.gateway_reference == ""  # the answer, and the PaymentIntent id, were lost

    report = payments_janitor_run(now=clock.now() + timedelta(hours=1))
    assert report.settled == [attempt.pk]
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.gateway_reference == _intents(localstripe_url)[0].id
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert len(_intents(localstripe_url)) == 1  # asked, never charged again


def test_janitor_fails_an_attempt_stripe_never_received(stripe_org, localstripe_url, monkeypatch):
    invoice = open_invoice(stripe_card_customer(stripe_org, localstripe_url))

    def never_sent(self, **kwargs):
        raise GatewayUnknownOutcome("connection reset")

    monkeypatch.setattr(StripeGateway, "charge", never_sent)
    attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    payment_attempt_execute(attempt_id=attempt.pk)
    report = payments_janitor_run(now=clock.now() + timedelta(hours=1))
    assert report.not_processed == [attempt.pk]
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED
    assert _intents(localstripe_url) == []


def test_stripe_server_error_on_charge_leaves_the_attempt_unknown(
    stripe_org, localstripe_url, settings
):
    invoice = open_invoice(stripe_card_customer(stripe_org, localstripe_url))
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: connection refused
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.UNKNOWN
    assert PaymentAttempt.unscoped.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
