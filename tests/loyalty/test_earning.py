"""Earning points from billing events: on time, late, streaks, welcome, exactly once."""

from __future__ import annotations

from datetime import timedelta

from billing.services.invoices import credit_note_issue
from cobro import events
from cobro.models import OutboxEvent
from loyalty.handlers import on_invoice_paid
from loyalty.models import LoyaltyAccount, PointsEntry
from loyalty.services.ledger import points_balance_from_entries
from tests.loyalty.conftest import T0, paid_invoice


def _balance(customer) -> int:
    account = LoyaltyAccount.unscoped.filter(customer=customer).first()
    return account.balance if account else 0


def test_on_time_payment_earns_on_time_and_amount_points(in_org, programme, customer):
    invoice = paid_invoice(customer, amount=12_500)
    event = OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk))
    assert events.event_dispatch_one(event)
    entry = PointsEntry.unscoped.get(invoice=invoice)
    assert entry.details["on_time"] is True
    assert entry.details["on_time_points"] == 100
    assert entry.details["amount_points"] == 12  # 1 point per 1.000 CLP, floor
    assert _balance(customer) == 112


def test_event_delivered_twice_awards_points_once(in_org, programme, customer):
    invoice = paid_invoice(customer)
    event = OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk))
    assert events.event_dispatch_one(event)
    assert events.event_dispatch_one(event)  # redelivery through the outbox
    on_invoice_paid(event)  # and a handler run that bypassed HandlerRun entirely
    assert PointsEntry.unscoped.filter(invoice=invoice).count() == 1
    assert _balance(customer) == 110


def test_late_payment_earns_no_on_time_points(in_org, programme, customer):
    # Automatic charge due on issue; the grace period is 2 days; paid 3 days later.
    invoice = paid_invoice(customer, paid=T0 + timedelta(days=3))
    on_invoice_paid(OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk)))
    entry = PointsEntry.unscoped.get(invoice=invoice)
    assert entry.details["on_time"] is False
    assert entry.details["on_time_points"] == 0
    assert entry.points == 10  # the amount points only
    assert "con atraso" in entry.description  # what the customer reads (es-419 default)


def test_payment_within_grace_period_counts_as_on_time(in_org, programme, customer):
    invoice = paid_invoice(customer, paid=T0 + timedelta(days=2))
    on_invoice_paid(OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk)))
    assert PointsEntry.unscoped.get(invoice=invoice).details["on_time_points"] == 100


def test_streak_bonus_after_three_on_time_payments_and_reset_by_a_late_one(
    in_org, programme, customer
):
    details = []
    plan = [0, 0, 0, 10, 0, 0, 0]  # days late; the 4th payment breaks the streak
    for month, late in enumerate(plan):
        issued = T0 + timedelta(days=30 * month)
        invoice = paid_invoice(customer, issued=issued, paid=issued + timedelta(days=late))
        on_invoice_paid(OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk)))
        details.append(PointsEntry.unscoped.get(invoice=invoice).details)
    assert [d["streak_bonus_points"] for d in details] == [0, 0, 150, 0, 0, 0, 150]
    assert [d["streak"] for d in details] == [1, 2, 3, 0, 1, 2, 3]


def test_programme_off_awards_nothing(in_org, programme, customer):
    programme.enabled = False
    programme.save()
    invoice = paid_invoice(customer)
    on_invoice_paid(OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk)))
    assert not PointsEntry.unscoped.exists()


def test_welcome_points_are_given_once_with_the_first_award(in_org, programme, customer):
    programme.welcome_points = 50
    programme.save()
    for i in range(2):
        invoice = paid_invoice(customer, issued=T0 + timedelta(days=30 * i))
        on_invoice_paid(OutboxEvent.unscoped.get(type="invoice.paid", subject_id=str(invoice.pk)))
    assert PointsEntry.unscoped.filter(source_key=f"customer:{customer.pk}:welcome").count() == 1
    assert _balance(customer) == 50 + 110 + 110


def test_full_refund_reverses_exactly_what_the_invoice_earned(in_org, programme, customer):
    invoice = paid_invoice(customer, amount=25_000)
    events.events_dispatch_pending()
    assert _balance(customer) == 125
    credit_note_issue(invoice=invoice, now=T0 + timedelta(days=1))
    events.events_dispatch_pending()
    reverse = PointsEntry.unscoped.get(kind="reverse")
    assert reverse.points == -125
    assert _balance(customer) == 0
    account = LoyaltyAccount.unscoped.get(customer=customer)
    assert points_balance_from_entries(account=account) == 0
    assert account.lifetime_points == 0


def test_disputed_payment_reverses_the_points_once_even_if_refunded_later(
    in_org, org, programme, customer
):
    from django.db import transaction

    from cobro.events import event_emit
    from loyalty.handlers import on_payment_disputed

    invoice = paid_invoice(customer, amount=20_000)
    events.events_dispatch_pending()
    assert _balance(customer) == 120
    with transaction.atomic():
        event = event_emit(
            organization=org,
            type="payment.disputed",
            payload={"invoice_id": invoice.pk, "attempt_id": 1, "dispute_id": "dp_1"},
        )
    events.events_dispatch_pending()
    on_payment_disputed(event)  # a repeated delivery
    assert _balance(customer) == 0
    credit_note_issue(invoice=invoice, now=T0 + timedelta(days=3))  # the refund that follows
    events.events_dispatch_pending()
    assert _balance(customer) == 0
    assert sum(PointsEntry.unscoped.filter(kind="reverse").values_list("points", flat=True)) == -120
