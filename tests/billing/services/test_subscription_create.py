from datetime import UTC, datetime, timedelta

import pytest

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import CreditLedgerEntry, Invoice, InvoiceStatus, Subscription
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
    subscription_preview_change,
    subscription_preview_invoices,
    subscription_renew,
    subscription_resume,
    subscription_undo_cancel,
)
from cobro.models import OutboxEvent
from tests.billing.factories import CouponFactory, PriceFactory

pytestmark = pytest.mark.django_db


def test_create_bills_first_period_with_number_and_event(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    inv = Invoice.objects.get(subscription=sub)
    assert inv.status == InvoiceStatus.OPEN
    assert inv.number == "F-000001"
    assert inv.total_minor == 10_000
    assert inv.period_start == datetime(2025, 3, 10, 3, 0, tzinfo=UTC)  # local midnight
    assert inv.period_end == datetime(2025, 4, 10, 4, 0, tzinfo=UTC)  # DST ended Apr 6
    assert sub.status == "active"
    assert sub.next_billing_at == inv.period_end
    types = list(OutboxEvent.objects.values_list("type", flat=True))
    assert {"subscription.created", "invoice.created", "invoice.finalized"} <= set(types)


def test_trial_ends_into_first_invoice_with_setup_fee(in_org, customer, org, t0):
    price = PriceFactory(organization=org, trial_days=14, setup_fee_minor=5_000)
    sub = subscription_create(customer=customer, price=price, now=t0)
    assert sub.status == "trialing"
    assert not Invoice.objects.exists()
    assert subscription_renew(subscription=sub, now=t0 + timedelta(days=13)) is None
    inv = subscription_renew(subscription=sub, now=t0 + timedelta(days=14))
    sub.refresh_from_db()
    assert sub.status == "active"
    assert inv.period_start == sub.trial_end
    assert sorted(inv.lines.values_list("kind", flat=True)) == ["setup_fee", "subscription"]
    assert inv.total_minor == 15_000


def test_anchor_day_gives_prorated_stub_then_full_periods(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, anchor_day=1, now=t0)
    first = Invoice.objects.get(subscription=sub)
    # March 10 -> April 1: 22 of 31 days, rounded once.
    assert first.total_minor == round(10_000 * 22 / 31)
    second = subscription_renew(subscription=sub, now=sub.next_billing_at)
    assert second.total_minor == 10_000
    assert second.period_start == first.period_end


@pytest.mark.parametrize("day", [0, 32, -1])
def test_anchor_day_out_of_range_is_rejected_without_writes(in_org, customer, monthly, day):
    with pytest.raises(BillingError) as err:
        subscription_create(customer=customer, price=monthly, anchor_day=day)
    assert err.value.code == BillingErrorCode.INVALID_ANCHOR_DAY
    assert not Subscription.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_pause_on_canceled_subscription_is_refused(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    subscription_cancel(subscription=sub, now=t0 + timedelta(days=1))
    with pytest.raises(BillingError) as err:
        subscription_pause(subscription=sub, now=t0 + timedelta(days=2))
    assert err.value.code == BillingErrorCode.INVALID_TRANSITION
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_no_invoices_while_paused_and_resume_moves_anchor(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    subscription_pause(subscription=sub, now=t0 + timedelta(days=5))
    for days in (31, 45, 70):
        assert subscription_renew(subscription=sub, now=t0 + timedelta(days=days)) is None
    assert Invoice.objects.count() == 1
    resume = datetime(2025, 5, 20, 18, 0, tzinfo=UTC)
    subscription_resume(subscription=sub, now=resume)
    sub.refresh_from_db()
    inv = Invoice.objects.order_by("-sequence_number").first()
    assert inv.period_start == datetime(2025, 5, 20, 4, 0, tzinfo=UTC)  # local midnight (UTC-4)
    assert inv.period_end == datetime(2025, 6, 20, 4, 0, tzinfo=UTC)
    assert sub.billing_anchor_day == 20
    assert sub.status == "active"


def test_resume_within_paid_period_keeps_anchor(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    end = sub.current_period_end
    subscription_pause(subscription=sub, now=t0 + timedelta(days=2))
    subscription_resume(subscription=sub, now=t0 + timedelta(days=4))
    sub.refresh_from_db()
    assert sub.next_billing_at == end
    assert sub.billing_anchor_day == 10
    assert Invoice.objects.count() == 1


def test_pause_until_date_resumes_automatically_in_renewal(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    resume_at = t0 + timedelta(days=60)
    subscription_pause(subscription=sub, resume_at=resume_at, now=t0 + timedelta(days=1))
    assert subscription_renew(subscription=sub, now=resume_at - timedelta(seconds=1)) is None
    inv = subscription_renew(subscription=sub, now=resume_at)
    sub.refresh_from_db()
    assert sub.status == "active"
    assert inv is not None and inv.period_start <= resume_at


def test_cancel_at_period_end_then_undo(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    subscription_cancel(subscription=sub, at_period_end=True, now=t0)
    subscription_undo_cancel(subscription=sub, now=t0)
    assert subscription_renew(subscription=sub, now=sub.next_billing_at) is not None
    subscription_cancel(subscription=sub, at_period_end=True, now=t0 + timedelta(days=40))
    sub.refresh_from_db()
    assert subscription_renew(subscription=sub, now=sub.next_billing_at) is None
    sub.refresh_from_db()
    assert sub.status == "canceled"
    assert Invoice.objects.count() == 2


def test_cancel_now_with_prorated_credit_goes_to_balance(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    half = sub.current_period_start + (sub.current_period_end - sub.current_period_start) / 2
    subscription_cancel(subscription=sub, prorated_credit=True, now=half)
    entry = CreditLedgerEntry.objects.get()
    assert entry.amount_minor == 5_000
    assert entry.kind == "cancellation"


def test_upgrade_now_invoices_net_proration_and_preview_matches(in_org, customer, org, t0):
    basic = PriceFactory(organization=org, amount_minor=10_000)
    pro = PriceFactory(organization=org, amount_minor=20_000)
    sub = subscription_create(customer=customer, price=basic, now=t0)
    half = sub.current_period_start + (sub.current_period_end - sub.current_period_start) / 2
    preview = subscription_preview_change(subscription=sub, price=pro, now=half)
    assert Invoice.objects.count() == 1  # the preview wrote nothing
    result = subscription_change(subscription=sub, price=pro, now=half)
    assert result.invoice.total_minor == 5_000 == preview.document.total_minor
    assert [ln.amount_minor for ln in result.invoice.lines.all()] == [-5_000, 10_000]


def test_downgrade_now_credits_balance_applied_to_next_invoice(in_org, customer, org, t0):
    basic = PriceFactory(organization=org, amount_minor=10_000)
    pro = PriceFactory(organization=org, amount_minor=20_000)
    sub = subscription_create(customer=customer, price=pro, now=t0)
    half = sub.current_period_start + (sub.current_period_end - sub.current_period_start) / 2
    subscription_change(subscription=sub, price=basic, now=half)
    assert Invoice.objects.count() == 1
    nxt = subscription_renew(subscription=sub, now=sub.next_billing_at)
    assert nxt.total_minor == 10_000
    assert nxt.credit_applied_minor == 5_000
    assert nxt.amount_due_minor == 5_000


def test_change_to_another_currency_is_refused(in_org, customer, org, monthly, t0):
    from billing.services.catalog import billing_settings_update

    billing_settings_update(organization=org, extra_currencies=["USD"])
    usd = PriceFactory(organization=org, currency="USD", amount_minor=999)
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    with pytest.raises(BillingError) as err:
        subscription_change(subscription=sub, price=usd, now=t0)
    assert err.value.code == BillingErrorCode.CURRENCY_MISMATCH
    sub.refresh_from_db()
    assert sub.price_id == monthly.pk
    assert Invoice.objects.count() == 1


def test_change_at_next_period_applies_on_renewal(in_org, customer, org, monthly, t0):
    pro = PriceFactory(organization=org, amount_minor=20_000)
    sub = subscription_create(customer=customer, price=monthly, now=t0)
    subscription_change(subscription=sub, price=pro, quantity=2, when="next_period", now=t0)
    inv = subscription_renew(subscription=sub, now=sub.next_billing_at)
    assert inv.total_minor == 40_000


def test_coupon_repeating_discounts_n_periods(in_org, customer, org, monthly, t0):
    coupon = CouponFactory(organization=org, duration="repeating", duration_periods=2)
    sub = subscription_create(customer=customer, price=monthly, coupon=coupon, now=t0)
    totals = [Invoice.objects.get().total_minor]
    for _ in range(2):
        sub.refresh_from_db()
        totals.append(subscription_renew(subscription=sub, now=sub.next_billing_at).total_minor)
    assert totals == [9_000, 9_000, 10_000]
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1


def test_preview_invoices_matches_real_renewals(in_org, customer, monthly, t0):
    sub = subscription_create(customer=customer, price=monthly, anchor_day=31, now=t0)
    plans = subscription_preview_invoices(subscription=sub, count=3)
    assert Invoice.objects.count() == 1
    real = []
    for _ in range(3):
        sub.refresh_from_db()
        real.append(subscription_renew(subscription=sub, now=sub.next_billing_at))
    assert [(p.period_start, p.period_end, p.document.total_minor) for p in plans] == [
        (i.period_start, i.period_end, i.total_minor) for i in real
    ]
