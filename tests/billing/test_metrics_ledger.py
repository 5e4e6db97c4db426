"""The MRR ledger and cached buckets behind the home metrics (billing.metrics at scale).

The ledger is written by a database trigger on each ``subscription.*`` outbox event; these
tests prove it yields exactly what the reference definitions (``_state_at``/``_movements``,
which scan every event) yield, and that cached buckets of closed months and days never serve
a figure that a later write made stale.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from fractions import Fraction

import pytest

from billing import metrics
from billing.models import MetricsBucket, MrrMovement, Subscription
from billing.payments.models import PaymentAttempt
from billing.services.subscriptions import subscription_cancel, subscription_change
from cobro import clock
from cobro.money import round_half_up
from cobro.tenancy.context import use_organization
from tests.billing import test_metrics
from tests.billing.factories import CustomerFactory, PriceFactory

NOW, at, _subscribe = test_metrics.NOW, test_metrics.at, test_metrics._subscribe
# The seeded histories of test_metrics (see its docstring for the hand-computed figures).
history = test_metrics.history
payments_history = test_metrics.payments_history


def _reference(org, period: str):
    """Movement totals, MRR at start, customers at start and churned customers computed the
    slow way, from every event."""
    start = metrics.period_start(organization=org, period=period, now=NOW)
    end = NOW + timedelta(seconds=1)
    mrr_start, customers_start = metrics._state_at(organization=org, at=start)
    mrr_end, customers_end = metrics._state_at(organization=org, at=end)
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for _month, kind, prev_cnt, cur_cnt, prev_sum, cur_sum in metrics._movements(
        organization=org, start=start, end=end
    ):
        totals[kind] += metrics._monthly(cur_sum, cur_cnt) - metrics._monthly(prev_sum, prev_cnt)
    return {
        "totals": {k: round_half_up(totals.get(k, Fraction(0))) for k in metrics.MOVEMENT_KINDS},
        "mrr_start": mrr_start,
        "mrr_end": round_half_up(mrr_end),
        "customers_start": len(customers_start),
        "customers_end": len(customers_end),
        "churned": len(customers_start - customers_end),
    }


def _assert_matches_reference(org, period: str):
    with use_organization(org):
        m = metrics.metrics_for_home(organization=org, period=period, now=NOW)
        ref = _reference(org, period)
        live = metrics.mrr_now(organization=org)
    assert m.movement_totals == ref["totals"]
    assert m.customers_at_start == ref["customers_start"]
    assert m.churned_customers == ref["churned"]
    assert m.mrr_minor == ref["mrr_end"] == round_half_up(live)
    assert m.active_customers == ref["customers_end"]
    return m


@pytest.mark.parametrize("period", ["30d", "3m", "6m", "12m"])
def test_the_ledger_equals_the_event_history(org, history, period):
    _assert_matches_reference(org, period)


def test_renewals_at_the_same_mrr_write_no_movement(org, history):
    with use_organization(org):
        kinds = sorted(MrrMovement.objects.filter(organization=org).values_list("kind", flat=True))
    # A new, B new, A expansion, B churn, D new, A contraction, D churn, D reactivation, C new.
    assert kinds == sorted(
        ["new", "new", "expansion", "churn", "new", "contraction", "churn", "reactivation", "new"]
    )


def test_a_backdated_change_refreshes_a_cached_month(org, history):
    m = _assert_matches_reference(org, "3m")
    assert MetricsBucket.objects.filter(organization=org, metric="mrr").exists()
    april_before = m.months[0]
    # A new customer subscribes with a date inside April (a closed, cached month).
    price = PriceFactory(organization=org, amount_minor=7_000)
    with use_organization(org):
        _subscribe(CustomerFactory(organization=org, name="E"), price, at(4, 25))
    m = _assert_matches_reference(org, "3m")
    assert m.months[0].new == april_before.new + 7_000
    assert m.months[0].mrr_end == april_before.mrr_end + 7_000


def test_churn_inside_the_window_after_caching(org, history):
    _assert_matches_reference(org, "12m")
    with use_organization(org):
        sub_a = Subscription.objects.get(pk=history["a"].pk)
        # The change and the cancellation a minute apart: two events at the very same instant
        # have no defined order between the ledger and the reference scan (see closing note).
        with clock.frozen(at(6, 14)):
            subscription_change(subscription=sub_a, quantity=5, now=at(6, 14))
        later = at(6, 14) + timedelta(minutes=1)
        with clock.frozen(later):
            subscription_cancel(subscription=Subscription.objects.get(pk=sub_a.pk), now=later)
    m = _assert_matches_reference(org, "3m")
    assert m.churned_customers == 2  # A and B were paying on April 1st and are not now


def test_payment_buckets_follow_later_changes_to_attempts(org, payments_history):
    with use_organization(org):
        m = metrics.metrics_for_home(organization=org, period="3m", now=NOW + timedelta(days=3))
        assert (m.failed_payments_count, m.recovered_count) == (1, 1)
        assert MetricsBucket.objects.filter(organization=org, metric="payments").exists()
        # A settled day changes afterwards (here: the failed attempt is corrected to
        # succeeded by hand); the cached day must not hide it.
        PaymentAttempt.objects.filter(status="failed").update(status="succeeded")
        m = metrics.metrics_for_home(organization=org, period="3m", now=NOW + timedelta(days=3))
    assert (m.failed_payments_count, m.failed_payments_minor) == (0, 0)
