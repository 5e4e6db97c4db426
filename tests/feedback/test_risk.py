"""Churn risk: explainable reasons from failed payments, low scores, pauses, downgrades and
scheduled cancellations; shown on the customer page and in the at-risk list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from billing.models import Invoice
from billing.payments.models import PaymentAttempt, attempt_idempotency_key
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
)
from cobro import clock, events
from cobro.models import OutboxEvent
from feedback.risk import churn_risk
from feedback.services.surveys import survey_answer, survey_request
from tests.billing.factories import PriceFactory
from tests.feedback.conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def sub(in_org, org, customer):
    return subscription_create(
        customer=customer, price=PriceFactory(organization=org, amount_minor=20_000), now=T0
    )


def _failed_attempt(customer, n: int, at):
    invoice = Invoice.unscoped.filter(customer=customer).first()
    return PaymentAttempt.unscoped.create(
        organization=customer.organization,
        invoice=invoice,
        customer=customer,
        attempt_number=100 + n,
        idempotency_key=attempt_idempotency_key(invoice.pk, 100 + n),
        status="failed",
        trigger="automatic",
        gateway="sandbox",
        amount_minor=20_000,
        currency="CLP",
        created_at=at,
    )


def test_a_healthy_customer_is_low_risk_without_reasons(sub, customer):
    with clock.frozen(T0 + timedelta(days=5)):
        risk = churn_risk(customer)
    assert (risk.level, risk.reasons) == ("low", [])


def test_failed_payments_and_a_detractor_score_are_high_risk_with_reasons(sub, customer):
    _failed_attempt(customer, 1, T0 + timedelta(days=1))
    _failed_attempt(customer, 2, T0 + timedelta(days=4))
    with clock.frozen(T0 + timedelta(days=5)):
        request = survey_request(customer=customer, kind="nps", source="manual")
        survey_answer(request=request, score=3, channel="portal")
        risk = churn_risk(customer)
    assert risk.level == "high"
    assert risk.reasons == [
        "2 pagos fallidos en los últimos 90 días",
        "NPS bajo: respondió 3 de 10",
    ]


def test_old_signals_fall_out_of_the_window(sub, customer):
    _failed_attempt(customer, 1, T0 + timedelta(days=1))
    with clock.frozen(T0 + timedelta(days=120)):
        assert churn_risk(customer).level == "low"


def test_a_pause_is_a_medium_risk(sub, customer):
    subscription_pause(subscription=sub, now=T0 + timedelta(days=3))
    with clock.frozen(T0 + timedelta(days=4)):
        risk = churn_risk(customer)
    assert risk.level == "medium"
    assert risk.reasons == ["Una suscripción está en pausa"]


def test_a_downgrade_seen_through_subscription_events_is_a_reason(sub, org, customer):
    cheaper = PriceFactory(organization=org, product=sub.price.product, amount_minor=8_000)
    subscription_change(subscription=sub, price=cheaper, now=T0 + timedelta(days=10))
    for event in OutboxEvent.unscoped.filter(type__startswith="subscription.").order_by(
        "-created_at"
    ):
        events.event_dispatch_one(event)
        events.event_dispatch_one(event)  # twice: one snapshot per event
    with clock.frozen(T0 + timedelta(days=11)):
        risk = churn_risk(customer)
    assert "Se cambió a un plan más barato en los últimos 90 días" in risk.reasons


def test_an_upgrade_is_not_a_downgrade(sub, org, customer):
    dearer = PriceFactory(organization=org, product=sub.price.product, amount_minor=30_000)
    subscription_change(subscription=sub, price=dearer, now=T0 + timedelta(days=10))
    for event in OutboxEvent.unscoped.filter(type__startswith="subscription.").order_by(
        "-created_at"
    ):
        events.event_dispatch_one(event)
    with clock.frozen(T0 + timedelta(days=11)):
        assert churn_risk(customer).reasons == []


def test_a_scheduled_cancellation_counts_and_a_gone_customer_is_not_at_risk(sub, customer):
    subscription_cancel(subscription=sub, at_period_end=True, now=T0 + timedelta(days=2))
    with clock.frozen(T0 + timedelta(days=3)):
        assert churn_risk(customer).reasons == ["Cancelación programada al final del período"]
    subscription_cancel(subscription=sub, now=T0 + timedelta(days=4))
    with clock.frozen(T0 + timedelta(days=5)):
        assert churn_risk(customer).level == "low"


def test_customer_page_and_at_risk_list_show_the_reasons(owner_client, sub, customer):
    subscription_pause(subscription=sub, now=clock.now() - timedelta(days=1))
    page = owner_client.get(reverse("customers:detail", kwargs={"pk": customer.pk}))
    body = page.content.decode()
    assert 'data-testid="churn-risk"' in body
    assert "Una suscripción está en pausa" in body
    listing = owner_client.get(reverse("feedback:at_risk")).content.decode()
    assert f'data-customer="{customer.pk}"' in listing
    assert "Una suscripción está en pausa" in listing
