"""How the home's cached buckets are cut (billing.metrics at scale): today's closed hours are
cached like closed days and months (so a request aggregates only the open hour), a write in a
cached hour still shows at once, finer buckets go once the month or day holding them is
cached, and the forecast finds each customer's payment method without a probe per charge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billing import metrics
from billing.models import MetricsBucket
from billing.payments.models import PaymentAttempt, PaymentMethod
from cobro.money import round_half_up
from cobro.tenancy.context import use_organization
from tests.billing import test_metrics

NOW, at = test_metrics.NOW, test_metrics.at
history = test_metrics.history
payments_history = test_metrics.payments_history

# Late on the day of D's successful retry (2025-06-14 15:00 UTC).
LATE = datetime(2025, 6, 14, 20, 30, tzinfo=UTC)


def _home(org, now, period="3m"):
    with use_organization(org):
        return metrics.metrics_for_home(organization=org, period=period, now=now)


def _buckets(org, metric):
    return list(
        MetricsBucket.objects.filter(organization=org, metric=metric).values_list("start", "end")
    )


def test_closed_hours_of_today_are_cached_and_a_late_write_in_one_still_counts(
    org, payments_history
):
    m = _home(org, LATE)
    assert (m.failed_payments_count, m.recovered_count) == (1, 1)
    hours = [(s, e) for s, e in _buckets(org, "payments") if e - s == timedelta(hours=1)]
    retry_hour = datetime(2025, 6, 14, 15, tzinfo=UTC)
    assert (retry_hour, retry_hour + timedelta(hours=1)) in hours
    # Nothing after the last closed hour is cached (20:00-20:30 is aggregated per request).
    assert max(e for _s, e in hours) == datetime(2025, 6, 14, 20, tzinfo=UTC)

    # The retry that succeeded at 15:00 is corrected by hand to failed: the cached hour
    # must not hide it.
    with use_organization(org):
        PaymentAttempt.objects.filter(attempt_number=2).update(status="failed")
    m = _home(org, LATE)
    assert (m.failed_payments_count, m.failed_payments_minor) == (2, 50_000)
    assert (m.recovered_count, m.recovered_minor) == (0, 0)


def test_hours_and_days_give_way_once_their_day_and_month_are_cached(org, payments_history):
    _home(org, LATE)
    june_14 = datetime(2025, 6, 14, tzinfo=UTC)
    assert any(e - s == timedelta(hours=1) for s, e in _buckets(org, "mrr"))
    # The next day, June 14 is a whole day: its hours are gone, the day stays.
    _home(org, LATE + timedelta(days=1))
    mrr = _buckets(org, "mrr")
    assert (june_14, june_14 + timedelta(days=1)) in mrr
    assert not [(s, e) for s, e in mrr if june_14 <= s and e <= june_14 + timedelta(days=1)
                and e - s < timedelta(days=1)]  # fmt: skip
    # In August, June is a whole (local) month: no day or hour bucket inside it is left.
    later = datetime(2025, 8, 5, 15, tzinfo=UTC)
    m = _home(org, later, period="6m")
    june = (datetime(2025, 6, 1, 4, tzinfo=UTC), datetime(2025, 7, 1, 4, tzinfo=UTC))
    mrr = _buckets(org, "mrr")
    assert june in mrr
    assert not [(s, e) for s, e in mrr if june[0] <= s and e <= june[1] and (s, e) != june]
    # The payment rates' history starts mid-June (the first attempt): it keeps reading June's
    # days from then on, but the hours of June 14 are gone.
    payments = _buckets(org, "payments")
    assert june in payments and (june_14, june_14 + timedelta(days=1)) in payments
    assert not [(s, e) for s, e in payments if june_14 <= s < june_14 + timedelta(days=1)
                and e - s == timedelta(hours=1)]  # fmt: skip
    with use_organization(org):
        assert m.mrr_minor == round_half_up(metrics.mrr_now(organization=org))


def test_the_forecast_falls_back_to_the_newest_method_of_a_customer_without_a_default(
    org, payments_history
):
    with use_organization(org):
        c = payments_history["c"].customer
        PaymentMethod.objects.filter(customer=c).update(is_default=False)
        rows = dict(metrics._scheduled_by_method(organization=org, now=NOW, days=30))
    # C (no default any more) still counts as a card customer, with D: 30 days of schedule.
    assert rows == {"card": 54_000}
