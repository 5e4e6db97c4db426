"""Earning rules added to the programme: the three definitions of "on time" and the
anniversary bonus (once per year, idempotent task)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing.payments.models import AttemptStatus, AttemptTrigger, PaymentAttempt
from billing.services.subscriptions import subscription_create
from cobro import clock, events
from loyalty.models import LoyaltyAccount, PointsEntry
from loyalty.models.programme import OnTimeRule
from loyalty.services.ledger import is_on_time, points_award_anniversary
from loyalty.tasks import loyalty_award_anniversaries_task
from tests.billing.factories import PriceFactory
from tests.loyalty.conftest import T0, paid_invoice


@pytest.mark.parametrize(
    ("rule", "days_late", "on_time"),
    [
        (OnTimeRule.DUE_DATE, 0, True),
        (OnTimeRule.DUE_DATE, 1, False),  # a day late, even inside the grace period
        (OnTimeRule.GRACE, 2, True),  # grace_days=2 in the fixture
        (OnTimeRule.GRACE, 3, False),
    ],
)
def test_on_time_by_due_date_or_grace_period(in_org, programme, customer, rule, days_late, on_time):
    programme.on_time_rule = rule
    programme.save()
    invoice = paid_invoice(customer, paid=T0 + timedelta(days=days_late))
    assert is_on_time(invoice=invoice, programme=programme) is on_time


def _attempt(invoice, number: int, status: str):
    return PaymentAttempt.unscoped.create(
        organization=invoice.organization,
        invoice=invoice,
        customer=invoice.customer,
        attempt_number=number,
        status=status,
        trigger=AttemptTrigger.AUTOMATIC if number == 1 else AttemptTrigger.RETRY,
        gateway="sandbox",
        amount_minor=invoice.total_minor,
        currency=invoice.currency,
        idempotency_key=f"test-{invoice.pk}-{number}",
        created_at=T0,
    )


def test_first_attempt_rule_counts_only_a_first_charge_that_succeeded(in_org, programme, customer):
    programme.on_time_rule = OnTimeRule.FIRST_ATTEMPT
    programme.save()
    first_try = paid_invoice(customer)
    _attempt(first_try, 1, AttemptStatus.SUCCEEDED)
    assert is_on_time(invoice=first_try, programme=programme)

    retried = paid_invoice(customer)  # paid on the due date, but by the second attempt
    _attempt(retried, 1, AttemptStatus.FAILED)
    _attempt(retried, 2, AttemptStatus.SUCCEEDED)
    assert not is_on_time(invoice=retried, programme=programme)

    # No charge at all (a bank transfer): paid by the due date counts.
    assert is_on_time(invoice=paid_invoice(customer), programme=programme)
    late_transfer = paid_invoice(customer, paid=T0 + timedelta(days=1))
    assert not is_on_time(invoice=late_transfer, programme=programme)


def test_anniversary_bonus_once_per_year(in_org, org, programme, customer):
    programme.anniversary_points = 250
    programme.save()
    price = PriceFactory(organization=org, amount_minor=10_000)
    with clock.frozen(T0):
        subscription_create(customer=customer, price=price, collection_method="send_invoice")
    assert points_award_anniversary(customer=customer, now=T0 + timedelta(days=300)) is None
    year = T0 + timedelta(days=366)
    entry = points_award_anniversary(customer=customer, now=year)
    assert entry is not None and entry.points == 250
    assert "1 año(s)" in entry.description
    assert points_award_anniversary(customer=customer, now=year + timedelta(days=30)) is None
    second = points_award_anniversary(customer=customer, now=T0 + timedelta(days=731))
    assert second is not None and second.details["anniversary_years"] == 2


def test_anniversary_task_is_idempotent(in_org, org, programme, customer):
    programme.anniversary_points = 250
    programme.save()
    org.is_sandbox = True
    org.test_clock_at = T0
    org.save()
    price = PriceFactory(organization=org, amount_minor=10_000)
    subscription_create(customer=customer, price=price, collection_method="send_invoice", now=T0)
    assert loyalty_award_anniversaries_task() == 0
    org.test_clock_at = T0 + timedelta(days=370)
    org.save()
    assert loyalty_award_anniversaries_task() == 1
    assert loyalty_award_anniversaries_task() == 0
    events.events_dispatch_pending()
    assert LoyaltyAccount.unscoped.get(customer=customer).balance == 250
    assert PointsEntry.unscoped.filter(source_key__contains="anniversary").count() == 1
