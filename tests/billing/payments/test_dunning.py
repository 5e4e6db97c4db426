from datetime import timedelta

import pytest

from billing.models import InvoiceStatus, Subscription
from billing.payments.models import DunningCase, PaymentAttempt
from billing.payments.services.dunning import dunning_policy_update, dunning_tick
from billing.payments.services.methods import payment_method_add_card
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.models import OutboxEvent
from tests.billing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _subscribe_with_card(org, monthly, t0, behaviour, dispatch):
    customer = CustomerFactory(organization=org)
    with clock.frozen(t0):
        payment_method_add_card(
            customer=customer, gateway="sandbox", token=f"tok_sandbox_{behaviour}"
        )
        sub = subscription_create(customer=customer, price=monthly, now=t0)
        dispatch()  # invoice.finalized -> attempt #1, executed on the payments "queue"
    return customer, sub


def _run_clock(start, days, django_capture_on_commit_callbacks, step=timedelta(hours=6)):
    at = start
    while at <= start + timedelta(days=days):
        with clock.frozen(at), django_capture_on_commit_callbacks(execute=True):
            dunning_tick(now=at)
        at += step


def test_dunning_timeline_follows_the_policy_exactly(
    in_org, org, monthly, t0, dispatch, django_capture_on_commit_callbacks
):
    dunning_policy_update(
        organization=org, retry_days=[3, 7, 14, 21], grace_period_days=2, final_action="cancel"
    )
    customer, sub = _subscribe_with_card(org, monthly, t0, "insufficient_funds", dispatch)
    sub.refresh_from_db()
    assert sub.status == "past_due"
    _run_clock(t0, 30, django_capture_on_commit_callbacks)
    attempts = list(PaymentAttempt.objects.order_by("attempt_number"))
    offsets = [a.created_at - t0 for a in attempts]
    # 1 automatic charge + 4 retries on days 3, 7, 14 and 21 (6-hour tick granularity).
    assert offsets == [timedelta(0)] + [timedelta(days=d) for d in (3, 7, 14, 21)]
    assert [a.trigger for a in attempts] == ["automatic", "retry", "retry", "retry", "retry"]
    assert all(a.status == "failed" for a in attempts)
    case = DunningCase.objects.get()
    assert case.final_action_taken == "cancel"
    assert case.final_action_at == t0 + timedelta(days=23)
    sub.refresh_from_db()
    assert sub.status == "canceled"
    assert OutboxEvent.objects.filter(type="payment.failed").count() == 5
    assert OutboxEvent.objects.filter(type="dunning.exhausted").count() == 1


def test_hard_decline_is_not_retried_and_final_action_follows_grace(
    in_org, org, monthly, t0, dispatch, django_capture_on_commit_callbacks
):
    dunning_policy_update(
        organization=org, retry_days=[3, 7], grace_period_days=5, final_action="mark_unpaid"
    )
    _subscribe_with_card(org, monthly, t0, "stolen_card", dispatch)
    _run_clock(t0, 10, django_capture_on_commit_callbacks)
    assert PaymentAttempt.objects.count() == 1
    sub = Subscription.objects.get()
    assert sub.status == "unpaid"
    event = OutboxEvent.objects.get(type="payment.failed")
    assert event.payload["hard_decline"] is True
    assert event.payload["retries_left"] == 0


def test_updating_the_card_retries_at_once_and_recovers(
    in_org, org, monthly, t0, dispatch, django_capture_on_commit_callbacks
):
    customer, sub = _subscribe_with_card(org, monthly, t0, "generic_decline", dispatch)
    later = t0 + timedelta(days=1)
    with clock.frozen(later), django_capture_on_commit_callbacks(execute=True):
        payment_method_add_card(customer=customer, gateway="sandbox", token="tok_sandbox_success")
    attempts = list(PaymentAttempt.objects.order_by("attempt_number"))
    assert [a.status for a in attempts] == ["failed", "succeeded"]
    assert attempts[1].trigger == "method_updated"
    assert attempts[1].created_at == later
    sub.refresh_from_db()
    assert sub.status == "active"
    case = DunningCase.objects.get()
    assert case.state == "recovered"
    assert case.recovered_minor == 10_000
    assert sub.invoices.get().status == InvoiceStatus.PAID
    # No scheduled retry remains once the invoice is paid.
    _run_clock(later, 25, django_capture_on_commit_callbacks, step=timedelta(days=1))
    assert PaymentAttempt.objects.count() == 2


def test_leave_past_due_final_action_keeps_the_subscription_past_due(
    in_org, org, monthly, t0, dispatch, django_capture_on_commit_callbacks
):
    dunning_policy_update(
        organization=org, retry_days=[1], grace_period_days=0, final_action="leave_past_due"
    )
    _subscribe_with_card(org, monthly, t0, "processing_error", dispatch)
    _run_clock(t0, 3, django_capture_on_commit_callbacks)
    assert PaymentAttempt.objects.count() == 2
    assert Subscription.objects.get().status == "past_due"
    assert DunningCase.objects.get().final_action_taken == "leave_past_due"


@pytest.mark.parametrize("days", [[7, 3], [-1], [1.5]])
def test_invalid_retry_days_are_rejected(in_org, org, days):
    from billing.payments.error_codes import PaymentError

    with pytest.raises(PaymentError):
        dunning_policy_update(
            organization=org, retry_days=days, grace_period_days=0, final_action="cancel"
        )
