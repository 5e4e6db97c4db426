"""Read-only metrics of the staff home: MRR and its movement, churn, ARPU, collections, forecast.

Everything is computed in the organization's ``default_currency`` (rows in other currencies are
left out, never converted) by SQL aggregates; Python only combines a handful of grouped rows.

Monthly normalization (the one rule): a subscription's monthly recurring revenue is
``price.amount_minor * quantity`` per ``interval_count`` intervals, converted to a month
exactly with fractions: a year is 12 months, a week is 52/12 of a month, a day is 365/12 of a
month. So ``monthly = amount * quantity * K / (12 * interval_count)`` with K = 12 (month),
1 (year), 52 (week), 365 (day). List price before taxes and coupons. Sums are kept as exact
fractions and rounded once, half away from zero (``cobro.money.round_half_up``), when shown.
Only ``active`` and ``past_due`` subscriptions count towards MRR (not trials, paused, unpaid,
canceled).

MRR movement comes from the subscription events in the outbox (``subscription.*``): each one
carries the subscription's state after the change (``status``, ``price_id``, ``quantity``),
so the MRR after every event is known, and the change against the previous event of the same
subscription is classified: 0 -> >0 is *new* (first time) or *reactivation* (it had MRR
before, e.g. resumed after a pause); >0 -> 0 is *churn*; a rise is *expansion*, a fall
*contraction*. The changes telescope, so the MRR at any instant equals the sum of all
movements before it (tests check it against the subscriptions table). Movements are bucketed
by calendar month in the organization's time zone.

At scale (a million subscriptions) the home reads no history row by row:
- the movements are kept as a ledger (``billing.models.metrics``) that a database trigger
  writes in the same transaction as each ``subscription.*`` event, with exactly the
  classification above (``_state_at``/``_movements`` below are the reference definitions; a
  test proves the ledger equals them); renewals at the same MRR write nothing;
- aggregates of closed intervals (local calendar months of movements, of payment attempts
  and of paid invoices, and UTC days and hours at the ends of a window) are cached in
  ``MetricsBucket`` rows on first read, and a trigger deletes a bucket as soon as a row
  inside it is written or changed, so figures stay exact; the day buckets inside a cached
  month, and the hour buckets of today, are dropped once the month (the day) is cached;
- only the open ends (the current hour, a window's unaligned start) are aggregated per
  request, over indexes;
- the forecast's projection (every live subscription's schedule, weighted by success rates)
  is cached for ``COBRO_FORECAST_CACHE_SECONDS`` (default 120) per organization when the
  caller does not pass ``now``; what was collected is always exact.
"Active subscriptions" and "active customers" on the home count subscriptions and customers
with MRR (active or past due at a non-zero price), from the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from fractions import Fraction
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum

from billing.models import (
    Invoice,
    MetricsBucket,
    MrrCustomerState,
    MrrMovement,
    Price,
    Subscription,
)
from billing.models.invoice import InvoiceStatus
from billing.models.subscription import SubscriptionStatus
from cobro import clock
from cobro.models import OutboxEvent
from cobro.money import round_half_up

MRR_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
MOVEMENT_KINDS = ("new", "expansion", "reactivation", "contraction", "churn")
FORECAST_WINDOWS = (30, 60, 90)

# period key -> (label key, length). "30d" is a rolling window, the others whole months.
PERIODS = {"30d": 0, "3m": 3, "6m": 6, "12m": 12}
DEFAULT_PERIOD = "3m"

_K_SQL = "CASE {p}.interval WHEN 'day' THEN 365 WHEN 'week' THEN 52 WHEN 'month' THEN 12 ELSE 1 END"


def _monthly(num_sum: int, interval_count: int) -> Fraction:
    """``num_sum`` is a sum of ``amount * quantity * K``; see the module docstring."""
    return Fraction(int(num_sum), 12 * int(interval_count))


@dataclass
class MonthMovement:
    month: datetime  # first instant of the month, organization time zone
    new: int = 0
    expansion: int = 0
    reactivation: int = 0
    contraction: int = 0  # negative or zero
    churn: int = 0  # negative or zero
    mrr_end: int = 0  # MRR at the end of the month (or now, for the current month)

    @property
    def net(self) -> int:
        return self.new + self.expansion + self.reactivation + self.contraction + self.churn


@dataclass
class Forecast:
    days: int
    expected_minor: int  # weighted by payment-method success rate
    scheduled_minor: int  # unweighted: what the schedule would bill
    collected_past_minor: int  # paid invoices in the previous window of the same length


@dataclass
class Metrics:
    currency: str
    period: str
    start: datetime
    now: datetime
    mrr_minor: int
    arr_minor: int
    active_subscriptions: int
    active_customers: int
    trials: int
    arpu_minor: int
    churned_customers: int
    customers_at_start: int
    customer_churn_rate: Fraction | None  # None when nobody was subscribed at the start
    revenue_churn_rate: Fraction | None
    movement_totals: dict[str, int]
    months: list[MonthMovement]
    overdue_count: int
    overdue_minor: int
    failed_payments_count: int
    failed_payments_minor: int
    recovered_count: int
    recovered_minor: int
    forecasts: list[Forecast] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return bool(
            self.mrr_minor or self.trials or self.months_have_movement or self.overdue_count
        )

    @property
    def months_have_movement(self) -> bool:
        return any(
            m.new or m.expansion or m.reactivation or m.contraction or m.churn for m in self.months
        )


# -- MRR from the subscriptions table ------------------------------------------------------------


def mrr_now(*, organization) -> Fraction:
    """Exact current MRR (fraction of minor units) from live subscriptions."""
    rows = (
        Subscription.objects.filter(
            organization=organization,
            status__in=MRR_STATUSES,
            currency=organization.default_currency,
        )
        .values("price__interval", "price__interval_count")
        .annotate(total=Sum(_amount_times_quantity()))
    )
    k = {"day": 365, "week": 52, "month": 12, "year": 1}
    return sum(
        (_monthly(r["total"] * k[r["price__interval"]], r["price__interval_count"]) for r in rows),
        Fraction(0),
    )


def _amount_times_quantity():
    from django.db.models import BigIntegerField, ExpressionWrapper, F

    return ExpressionWrapper(
        F("price__amount_minor") * F("quantity"), output_field=BigIntegerField()
    )


# -- MRR from the event history -------------------------------------------------------------------

_EVENTS_CTE = f"""
ev AS (
    SELECT e.id, e.created_at, e.subject_id,
           (e.payload->>'customer_id') AS customer_id,
           CASE WHEN e.payload->>'status' IN ('active', 'past_due')
                THEN p.amount_minor * (e.payload->>'quantity')::bigint * {_K_SQL.format(p="p")}
                ELSE 0 END AS num,
           p.interval_count AS cnt
    FROM {OutboxEvent._meta.db_table} e
    JOIN {Price._meta.db_table} p ON p.id = (e.payload->>'price_id')::bigint
    WHERE e.organization_id = %(org)s
      AND e.type LIKE 'subscription.%%'
      AND e.subject_type = 'billing.subscription'
      AND e.payload ? 'price_id' AND e.payload ? 'status' AND e.payload ? 'quantity'
      AND p.currency = %(currency)s
)"""  # noqa: S608 (table names from model meta)


def _state_at(*, organization, at: datetime) -> tuple[Fraction, set[str]]:
    """MRR (exact) and the customers with MRR at instant ``at``, from each subscription's last
    event before ``at``."""
    sql = f"""
    WITH {_EVENTS_CTE},
    last AS (
        SELECT DISTINCT ON (subject_id) subject_id, customer_id, num, cnt
        FROM ev WHERE created_at < %(at)s
        ORDER BY subject_id, created_at DESC, id DESC
    )
    SELECT cnt, SUM(num), COUNT(DISTINCT customer_id) FILTER (WHERE num > 0),
           ARRAY_AGG(DISTINCT customer_id) FILTER (WHERE num > 0)
    FROM last GROUP BY cnt
    """  # noqa: S608
    params = {"org": organization.pk, "currency": organization.default_currency, "at": at}
    total = Fraction(0)
    customers: set[str] = set()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for cnt, num_sum, _n, ids in cur.fetchall():
            total += _monthly(num_sum or 0, cnt)
            customers.update(ids or ())
    return total, customers


def _movements(*, organization, start: datetime, end: datetime) -> list[tuple]:
    """Rows ``(month, kind, prev_cnt, cur_cnt, prev_sum, cur_sum)`` for events in
    ``[start, end)``; see the module docstring for the classification."""
    sql = f"""
    WITH {_EVENTS_CTE},
    moves AS (
        SELECT created_at, num AS cur_num, cnt AS cur_cnt,
               COALESCE(LAG(num) OVER w, 0) AS prev_num,
               COALESCE(LAG(cnt) OVER w, cnt) AS prev_cnt,
               COALESCE(MAX(num) OVER (PARTITION BY subject_id ORDER BY created_at, id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS max_before
        FROM ev
        WINDOW w AS (PARTITION BY subject_id ORDER BY created_at, id)
    ),
    classified AS (
        SELECT *, CASE
            WHEN prev_num = 0 AND cur_num > 0 THEN
                CASE WHEN max_before > 0 THEN 'reactivation' ELSE 'new' END
            WHEN prev_num > 0 AND cur_num = 0 THEN 'churn'
            WHEN cur_num * prev_cnt > prev_num * cur_cnt THEN 'expansion'
            WHEN cur_num * prev_cnt < prev_num * cur_cnt THEN 'contraction'
        END AS kind
        FROM moves
    )
    SELECT date_trunc('month', created_at AT TIME ZONE %(tz)s) AS month, kind,
           prev_cnt, cur_cnt, SUM(prev_num), SUM(cur_num)
    FROM classified
    WHERE kind IS NOT NULL AND created_at >= %(start)s AND created_at < %(end)s
    GROUP BY 1, 2, 3, 4
    ORDER BY 1
    """  # noqa: S608
    params = {
        "org": organization.pk,
        "currency": organization.default_currency,
        "tz": organization.time_zone,
        "start": start,
        "end": end,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


# -- payments ------------------------------------------------------------------------------------


def _payments_models():
    """``billing.payments`` is an optional app: import lazily, None when not installed."""
    from django.apps import apps

    if not apps.is_installed("billing.payments"):
        return None
    from billing.payments import models as payment_models

    return payment_models


def _succeeded_statuses(pm) -> tuple[str, ...]:
    s = pm.AttemptStatus
    return (s.SUCCEEDED, s.PARTIALLY_REFUNDED, s.REFUNDED)


def success_rates(*, organization) -> dict[str | None, Fraction]:
    """Historical share of settled charge attempts that succeeded, per payment-method type
    (``None``: all attempts together, used for schedules without a stored method)."""
    pm = _payments_models()
    if pm is None:
        return {}
    succeeded = _succeeded_statuses(pm)
    rows = (
        pm.PaymentAttempt.objects.filter(organization=organization)
        .filter(Q(status__in=succeeded) | Q(status=pm.AttemptStatus.FAILED))
        .values("payment_method__type")
        .annotate(ok=Count("pk", filter=Q(status__in=succeeded)), total=Count("pk"))
    )
    rates: dict[str | None, Fraction] = {}
    all_ok = all_total = 0
    for r in rows:
        all_ok += r["ok"]
        all_total += r["total"]
        if r["payment_method__type"] is not None:
            rates[r["payment_method__type"]] = Fraction(r["ok"], r["total"])
    if all_total:
        rates[None] = Fraction(all_ok, all_total)
    return rates


def _scheduled_by_method(
    *, organization, now: datetime, days: int, windows: tuple[int, ...] | None = None
) -> list[tuple]:
    """``(method_type, amount_sum)``: every charge the schedule makes before ``now+days``
    (the next billing date and each following period while it stays in the window; a date
    already passed is a renewal the billing run has yet to pick up, so it counts), at
    ``price * quantity`` (list price, before tax and coupons), grouped by the type of the
    customer's default payment method. Subscriptions set to cancel at period end count
    nothing. Periods step by calendar intervals in UTC. With ``windows`` (each at most
    ``days``), rows are ``(method_type, [amount_sum per window])`` from the same pass."""
    pm = _payments_models()
    method_sql, method_join = "NULL", ""
    if pm is not None:
        # The customer's preferred method: the default one (at most one per customer, by a
        # partial unique index) found by one join for all subscriptions; only a customer
        # without a default falls back to their newest method. Picking it per charge row
        # instead cost an index probe per charge (millions at scale).
        table = pm.PaymentMethod._meta.db_table
        method_join = f"""LEFT JOIN {table} d ON d.customer_id = s.customer_id
            AND d.is_default AND d.removed_at IS NULL"""
        method_sql = f"""COALESCE(d.type, (SELECT m.type FROM {table} m
            WHERE m.customer_id = s.customer_id AND m.removed_at IS NULL
            ORDER BY m.is_default DESC, m.created_at DESC LIMIT 1))"""  # noqa: S608
    sums = "SUM(p.amount_minor * s.quantity)"
    window_ends = {}
    if windows:
        # Window ends as parameters (whole days from ``now``), not recomputed per row.
        window_ends = {f"end_{int(w)}": now + timedelta(days=int(w)) for w in windows}
        sums = ", ".join(
            f"SUM(p.amount_minor * s.quantity) FILTER (WHERE charge_at < %(end_{int(w)})s)"
            for w in windows
        )
    sql = f"""
    SELECT {method_sql} AS method_type, {sums}
    FROM {Subscription._meta.db_table} s
    JOIN {Price._meta.db_table} p ON p.id = s.price_id
    {method_join}
    CROSS JOIN LATERAL generate_series(
        s.next_billing_at, %(end)s - interval '1 microsecond',
        CASE p.interval
            WHEN 'day' THEN make_interval(days => p.interval_count)
            WHEN 'week' THEN make_interval(weeks => p.interval_count)
            WHEN 'month' THEN make_interval(months => p.interval_count)
            ELSE make_interval(years => p.interval_count) END
    ) AS charge_at
    WHERE s.organization_id = %(org)s AND s.currency = %(currency)s
      AND s.status IN ('active', 'past_due', 'trialing')
      AND s.next_billing_at IS NOT NULL AND s.next_billing_at < %(end)s
      AND NOT s.cancel_at_period_end
    GROUP BY 1
    """  # noqa: S608
    params = {
        "org": organization.pk,
        "currency": organization.default_currency,
        "end": now + timedelta(days=days),
        **window_ends,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    if windows:
        return [(r[0], list(r[1:])) for r in rows]
    return rows


def forecast(*, organization, now: datetime, days: int, rates=None) -> Forecast:
    """Expected collections in the next ``days`` days (see ``_scheduled_by_method``), each
    amount weighted by its method type's historical success rate (the overall rate when the
    customer has no method or the type has no history; 1 without any history), rounded once;
    next to what paid invoices brought in the previous ``days`` days."""
    if rates is None:
        rates = success_rates(organization=organization)
    default_rate = rates.get(None, Fraction(1))
    expected = Fraction(0)
    scheduled = 0
    for method_type, amount_sum in _scheduled_by_method(
        organization=organization, now=now, days=days
    ):
        amount_sum = int(amount_sum or 0)
        scheduled += amount_sum
        expected += amount_sum * rates.get(method_type, default_rate)
    collected = Invoice.objects.filter(
        organization=organization,
        currency=organization.default_currency,
        status=InvoiceStatus.PAID,
        paid_at__gte=now - timedelta(days=days),
        paid_at__lt=now,
    ).aggregate(s=Sum("amount_paid_minor"))["s"]
    return Forecast(
        days=days,
        expected_minor=round_half_up(expected),
        scheduled_minor=scheduled,
        collected_past_minor=int(collected or 0),
    )


# -- cached buckets of closed intervals ------------------------------------------------------------

# A bucket is cached only once its interval ended at least this long ago, so a transaction
# still writing rows into it when it is first read cannot leave a stale aggregate behind.
BUCKET_SETTLE = timedelta(minutes=5)


def _merge(total: dict, part: dict) -> dict:
    """Add ``part`` into ``total``: numbers add, lists add element-wise, dicts recurse."""
    for key, value in part.items():
        if isinstance(value, dict):
            _merge(total.setdefault(key, {}), value)
        elif isinstance(value, list):
            cur = total.setdefault(key, [0] * len(value))
            total[key] = [int(a) + int(b) for a, b in zip(cur, value, strict=True)]
        else:
            total[key] = int(total.get(key, 0)) + int(value)
    return total


def _day_edges(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """Whole UTC days inside ``[lo, hi)``."""
    first = lo.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if first < lo:
        first += timedelta(days=1)
    edges = []
    while first + timedelta(days=1) <= hi:
        edges.append((first, first + timedelta(days=1)))
        first += timedelta(days=1)
    return edges


def _month_edges(lo: datetime, hi: datetime, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    """Whole calendar months of time zone ``tz`` inside ``[lo, hi)``."""
    local = lo.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if first < lo:
        first = first + relativedelta(months=1)
    edges = []
    while first + relativedelta(months=1) <= hi:
        nxt = first + relativedelta(months=1)
        edges.append((first, nxt))
        first = nxt
    return edges


def _hour_edges(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """Whole UTC hours inside ``[lo, hi)``."""
    first = lo.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first < lo:
        first += timedelta(hours=1)
    edges = []
    while first + timedelta(hours=1) <= hi:
        edges.append((first, first + timedelta(hours=1)))
        first += timedelta(hours=1)
    return edges


def _days_and_hours(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """Whole UTC days inside ``[lo, hi)``; in what is left before the first day (when ``lo``
    is on a whole hour: a month's or a day's start) and after the last one (today, up to
    ``hi``), whole UTC hours. So only the open hour and a window's unaligned start are
    aggregated per request; an unaligned start (``now`` minus N days) moves every hour, so
    caching its hours would only pile up buckets nobody reads again."""
    days = _day_edges(lo, hi)
    head_end = days[0][0] if days else hi
    tail_start = days[-1][1] if days else None
    on_the_hour = lo.astimezone(UTC).replace(minute=0, second=0, microsecond=0) == lo
    head = _hour_edges(lo, head_end) if on_the_hour else []
    if tail_start is None:
        return head
    return [*head, *days, *_hour_edges(tail_start, hi)]


def _month_and_day_edges(lo: datetime, hi: datetime, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    """Whole months of time zone ``tz`` (the organization's: the home's periods start on
    local months) inside ``[lo, hi)``, and in what is left at both ends whole UTC days and
    hours (see ``_days_and_hours``): an open month is mostly closed days, an open day mostly
    closed hours."""
    months = _month_edges(lo, hi, tz)
    if not months:
        return _days_and_hours(lo, hi)
    return [*_days_and_hours(lo, months[0][0]), *months, *_days_and_hours(months[-1][1], hi)]


class _Reads:
    """One home computation's reads: every cached bucket of the organization fetched in one
    query, and each directly computed interval computed once (windows share their ends)."""

    def __init__(self, organization, since: datetime) -> None:
        rows = (
            MetricsBucket.objects.filter(organization=organization)
            .filter(Q(metric="mrr") | Q(end__gt=since))
            .values_list("currency", "metric", "start", "end", "data")
        )
        self.buckets: dict[tuple, dict] = {tuple(row[:4]): row[4] for row in rows}
        self.memo: dict[tuple, dict] = {}


def _aggregate(
    *, organization, currency: str, metric: str, lo: datetime, hi: datetime, edges, compute,
    now: datetime, reads: _Reads | None = None,
) -> dict:  # fmt: skip
    """Sum of ``compute(lo, hi)`` over ``[lo, hi)``: whole intervals of ``edges`` come from
    cached buckets (computed and stored when missing and settled), the rest is computed."""
    if hi <= lo:
        return {}
    if reads is None:
        reads = _Reads(organization, lo)
    total: dict = {}
    settled = now - BUCKET_SETTLE
    new_rows = []

    def direct(a: datetime, b: datetime) -> dict:
        key = (currency, metric, a, b)
        if key not in reads.memo:
            reads.memo[key] = compute(a, b)
        return reads.memo[key]

    cursor = lo
    for start, end in edges:
        if cursor < start:
            _merge(total, direct(cursor, start))
        data = reads.buckets.get((currency, metric, start, end))
        if data is None:
            data = direct(start, end)
            if end <= settled:
                reads.buckets[(currency, metric, start, end)] = data
                new_rows.append(
                    MetricsBucket(
                        organization=organization,
                        currency=currency,
                        metric=metric,
                        start=start,
                        end=end,
                        data=data,
                    )
                )
        _merge(total, data)
        cursor = end
    if cursor < hi:
        _merge(total, direct(cursor, hi))
    if new_rows:
        MetricsBucket.objects.bulk_create(new_rows, ignore_conflicts=True)
        _drop_finer_buckets(organization, currency, metric, new_rows)
    return total


def _drop_finer_buckets(organization, currency: str, metric: str, rows) -> None:
    """Once a month (a day) is cached, the day (hour) buckets inside it are never read
    again: delete them, so the rows every home request loads stay a few per month."""
    inside = Q()
    for row in rows:
        if row.end - row.start > timedelta(hours=1):
            inside |= Q(start__gte=row.start, end__lte=row.end) & ~Q(start=row.start, end=row.end)
    if inside:
        MetricsBucket.objects.filter(
            organization=organization, currency=currency, metric=metric
        ).filter(inside).delete()


# -- MRR from the ledger ---------------------------------------------------------------------------


def _ledger(*, organization, currency: str, lo: datetime, hi: datetime) -> dict:
    """Movements in ``[lo, hi)``: ``groups`` ``{"kind|prev_cnt|cur_cnt": [prev_sum, cur_sum]}``,
    customers who started (``gained``) and stopped (``lost``) paying, and the change in the
    number of subscriptions with MRR (``subs``)."""
    sql = f"""
    SELECT kind, prev_cnt, cur_cnt, SUM(prev_num), SUM(cur_num),
           COUNT(*) FILTER (WHERE customer_delta > 0), COUNT(*) FILTER (WHERE customer_delta < 0),
           COUNT(*) FILTER (WHERE prev_num = 0 AND cur_num > 0)
             - COUNT(*) FILTER (WHERE prev_num > 0 AND cur_num = 0)
    FROM {MrrMovement._meta.db_table}
    WHERE organization_id = %s AND currency = %s AND occurred_at >= %s AND occurred_at < %s
    GROUP BY 1, 2, 3
    """  # noqa: S608
    out: dict = {"groups": {}, "gained": 0, "lost": 0, "subs": 0}
    with connection.cursor() as cur:
        cur.execute(sql, [organization.pk, currency, lo, hi])
        for kind, prev_cnt, cur_cnt, prev_sum, cur_sum, gained, lost, subs in cur.fetchall():
            out["groups"][f"{kind}|{prev_cnt}|{cur_cnt}"] = [int(prev_sum), int(cur_sum)]
            out["gained"] += gained
            out["lost"] += lost
            out["subs"] += subs
    return out


def _ledger_range(
    *, organization, currency: str, lo: datetime, hi: datetime, now, reads=None
) -> dict:
    tz = ZoneInfo(organization.time_zone)
    return _aggregate(
        organization=organization, currency=currency, metric="mrr", lo=lo, hi=hi,
        edges=_month_and_day_edges(lo, hi, tz), now=now, reads=reads,
        compute=lambda a, b: _ledger(organization=organization, currency=currency, lo=a, hi=b),
    )  # fmt: skip


def _groups_value(groups: dict) -> dict[str, Fraction]:
    """Exact MRR change per movement kind of ledger ``groups``."""
    out: dict[str, Fraction] = defaultdict(Fraction)
    for key, (prev_sum, cur_sum) in groups.items():
        kind, prev_cnt, cur_cnt = key.split("|")
        out[kind] += _monthly(cur_sum, int(cur_cnt)) - _monthly(prev_sum, int(prev_cnt))
    return out


def _ledger_start(*, organization, currency: str) -> datetime | None:
    return (
        MrrMovement.objects.filter(organization=organization, currency=currency)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def _churned_customers(*, organization, currency: str, lo: datetime, hi: datetime) -> int:
    """Customers paying at ``lo`` and not at ``hi``.

    When nothing was recorded at or after ``hi`` (the home's case: ``hi`` is now), those are
    the customers who pay nothing now and whose paying interval that spanned ``lo`` ended
    inside the window: the -1 rows of the window whose ``paying_since`` is before ``lo``
    (at most one per customer). Otherwise a customer's rows alternate +1 (starts paying) and
    -1 (stops), so exactly those whose rows in ``[lo, hi)`` sum to -1 churned."""
    table = MrrMovement._meta.db_table
    later = MrrMovement.objects.filter(
        organization=organization, currency=currency, occurred_at__gte=hi
    ).exists()
    if not later:
        sql = f"""
        SELECT COUNT(*) FROM {table} m
        JOIN {MrrCustomerState._meta.db_table} c
          ON c.customer_id = m.customer_id AND c.currency = m.currency
        WHERE m.organization_id = %s AND m.currency = %s AND m.customer_delta = -1
          AND m.occurred_at >= %s AND m.occurred_at < %s AND m.paying_since < %s
          AND c.paying_subscriptions = 0
        """  # noqa: S608
        params = [organization.pk, currency, lo, hi, lo]
    else:
        sql = f"""
        SELECT COUNT(*) FROM (
            SELECT customer_id FROM {table}
            WHERE organization_id = %s AND currency = %s AND customer_delta <> 0
              AND occurred_at >= %s AND occurred_at < %s
            GROUP BY customer_id HAVING SUM(customer_delta) = -1
        ) churned
        """  # noqa: S608
        params = [organization.pk, currency, lo, hi]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return int(cur.fetchone()[0])


# -- payments and collections per day --------------------------------------------------------------


def _attempts_data(*, organization, lo: datetime, hi: datetime) -> dict:
    """Charge attempts created in ``[lo, hi)``: per currency failed and recovered (a later
    attempt that succeeded) counts and sums, and settled attempts per method type (``ok``,
    ``total``; type ``""`` for attempts without a method) for the success rates."""
    pm = _payments_models()
    if pm is None:
        return {}
    ok = [str(s) for s in _succeeded_statuses(pm)]
    sql = f"""
    SELECT a.currency, COALESCE(m.type, ''),
           COUNT(*) FILTER (WHERE a.status = 'failed'),
           COALESCE(SUM(a.amount_minor) FILTER (WHERE a.status = 'failed'), 0),
           COUNT(*) FILTER (WHERE a.attempt_number > 1 AND a.status = ANY(%s)),
           COALESCE(SUM(a.amount_minor) FILTER (WHERE a.attempt_number > 1
                                                AND a.status = ANY(%s)), 0),
           COUNT(*) FILTER (WHERE a.status = ANY(%s)),
           COUNT(*) FILTER (WHERE a.status = ANY(%s) OR a.status = 'failed')
    FROM {pm.PaymentAttempt._meta.db_table} a
    LEFT JOIN {pm.PaymentMethod._meta.db_table} m ON m.id = a.payment_method_id
    WHERE a.organization_id = %s AND a.created_at >= %s AND a.created_at < %s
    GROUP BY 1, 2
    """  # noqa: S608
    out: dict = {}
    with connection.cursor() as cur:
        cur.execute(sql, [ok, ok, ok, ok, organization.pk, lo, hi])
        for cur_code, mtype, fn, fs, rn, rs, n_ok, n_total in cur.fetchall():
            _merge(out, {"by_currency": {cur_code: [fn, fs, rn, rs]}})
            if n_total:
                _merge(out, {"rates": {mtype: [n_ok, n_total]}})
    return out


def _attempts_range(*, organization, lo: datetime, hi: datetime, now: datetime, reads=None) -> dict:
    return _aggregate(
        organization=organization, currency="", metric="payments", lo=lo, hi=hi,
        edges=_month_and_day_edges(lo, hi, ZoneInfo(organization.time_zone)),
        now=now, reads=reads,
        compute=lambda a, b: _attempts_data(organization=organization, lo=a, hi=b),
    )  # fmt: skip


def _paid_data(*, organization, lo: datetime, hi: datetime) -> dict:
    """Amount paid per currency by invoices paid in ``[lo, hi)``."""
    rows = (
        Invoice.objects.filter(
            organization=organization, status=InvoiceStatus.PAID, paid_at__gte=lo, paid_at__lt=hi
        )
        .values("currency")
        .annotate(s=Sum("amount_paid_minor"))
    )
    return {r["currency"]: int(r["s"] or 0) for r in rows}


def _paid_range(*, organization, lo: datetime, hi: datetime, now: datetime, reads=None) -> dict:
    return _aggregate(
        organization=organization, currency="", metric="paid", lo=lo, hi=hi,
        edges=_month_and_day_edges(lo, hi, ZoneInfo(organization.time_zone)),
        now=now, reads=reads,
        compute=lambda a, b: _paid_data(organization=organization, lo=a, hi=b),
    )  # fmt: skip


def _first_attempt_at(*, organization) -> datetime | None:
    pm = _payments_models()
    if pm is None:
        return None
    return (
        pm.PaymentAttempt.objects.filter(organization=organization)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def _rates_from(data: dict) -> dict[str | None, Fraction]:
    rates: dict[str | None, Fraction] = {}
    all_ok = all_total = 0
    for mtype, (n_ok, n_total) in (data.get("rates") or {}).items():
        all_ok += n_ok
        all_total += n_total
        if mtype:
            rates[mtype] = Fraction(n_ok, n_total)
    if all_total:
        rates[None] = Fraction(all_ok, all_total)
    return rates


def _projections(*, organization, now: datetime, rates) -> list[tuple[int, int, int]]:
    """``(days, expected, scheduled)`` of every window of ``FORECAST_WINDOWS``, as
    ``forecast`` computes them, from one pass over the schedules (the longest window)."""
    longest = max(FORECAST_WINDOWS)
    default_rate = rates.get(None, Fraction(1))
    per_window: dict[int, tuple[Fraction, int]] = {d: (Fraction(0), 0) for d in FORECAST_WINDOWS}
    for method_type, sums in _scheduled_by_method(
        organization=organization, now=now, days=longest, windows=FORECAST_WINDOWS
    ):
        rate = rates.get(method_type, default_rate)
        for days, amount in zip(FORECAST_WINDOWS, sums, strict=True):
            expected, scheduled = per_window[days]
            per_window[days] = (expected + int(amount or 0) * rate, scheduled + int(amount or 0))
    return [(d, round_half_up(e), s) for d, (e, s) in per_window.items()]


def _forecasts(*, organization, now: datetime, cacheable: bool, reads=None) -> list[Forecast]:
    """The three forecast windows; ``expected``/``scheduled`` are cached for a while (they
    project every live subscription's schedule), ``collected`` is always exact."""
    key = None
    projected = None
    seconds = int(getattr(settings, "COBRO_FORECAST_CACHE_SECONDS", 120))
    if cacheable and seconds > 0:
        key = (
            f"metrics:forecast:{connection.settings_dict['NAME']}:{organization.pk}:"
            f"{organization.created_at.timestamp()}:{organization.default_currency}"
        )
        projected = cache.get(key)
    if projected is None:
        first = _first_attempt_at(organization=organization)
        rates: dict[str | None, Fraction] = {}
        if first is not None and first < now:
            origin = first.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            rates = _rates_from(
                _attempts_range(organization=organization, lo=origin, hi=now, now=now, reads=None)
            )
        projected = _projections(organization=organization, now=now, rates=rates)
        if key is not None:
            cache.set(key, projected, seconds)
    out = []
    for days, expected, scheduled in projected:
        paid = _paid_range(
            organization=organization,
            lo=now - timedelta(days=days),
            hi=now,
            now=now,
            reads=reads,
        )
        out.append(
            Forecast(
                days=days,
                expected_minor=expected,
                scheduled_minor=scheduled,
                collected_past_minor=int(paid.get(organization.default_currency, 0)),
            )
        )
    return out


# -- the home ------------------------------------------------------------------------------------


def period_start(*, organization, period: str, now: datetime) -> datetime:
    """``30d``: 30 days ago; ``Nm``: the first instant of the month N-1 months before the
    current one (so ``3m`` shows three whole calendar months, the current one included)."""
    months = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    if months == 0:
        return now - timedelta(days=30)
    tz = ZoneInfo(organization.time_zone)
    local = now.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first - relativedelta(months=months - 1)


def metrics_for_home(*, organization, period: str = DEFAULT_PERIOD, now=None) -> Metrics:
    """All figures of the staff home for ``organization`` over ``period`` (see ``PERIODS``).
    Without ``now`` the organization's clock is used and the forecast may come from cache."""
    with _no_jit():
        return _metrics_for_home(organization=organization, period=period, now=now)


@contextmanager
def _no_jit():
    """PostgreSQL's JIT compiles queries whose estimated cost is high, as aggregates over a
    million rows and the forecast's ``generate_series`` are: measured at 1 to 7 s of
    compilation for a query that runs in milliseconds. These are short reads; no JIT."""
    if connection.vendor != "postgresql":
        yield
        return
    if connection.in_atomic_block:
        # Until the end of the surrounding transaction (whatever way it ends).
        with connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET jit")


def _metrics_for_home(*, organization, period: str, now) -> Metrics:
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    cacheable = now is None
    now = now or clock.now(organization)
    currency = organization.default_currency
    start = period_start(organization=organization, period=period, now=now)
    end = now + timedelta(seconds=1)
    tz = ZoneInfo(organization.time_zone)

    # MRR at the start (every movement before it) and the movements since, month by month.
    first = _ledger_start(organization=organization, currency=currency)
    # The buckets the windows need (the rates' history reads its own, when not cached).
    reads = _Reads(organization, min(start, now - timedelta(days=max(FORECAST_WINDOWS) + 1)))
    before: dict = {"groups": {}, "gained": 0, "lost": 0, "subs": 0}
    if first is not None and first < start:
        # From the first instant of the first movement's month, so whole months are cached.
        origin = first.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        _merge(
            before,
            _ledger_range(organization=organization, currency=currency, lo=origin, hi=start,
                          now=now, reads=reads),
        )  # fmt: skip
    mrr_start = sum(_groups_value(before["groups"]).values(), Fraction(0))
    customers_at_start = int(before["gained"]) - int(before["lost"])
    window: dict = {"groups": {}, "gained": 0, "lost": 0, "subs": 0}

    month_values: dict[datetime, dict[str, Fraction]] = {}
    cursor = start.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while cursor <= now.astimezone(tz):
        nxt = cursor + relativedelta(months=1)
        lo, hi = max(cursor, start), min(nxt, end)
        data = _ledger_range(
            organization=organization, currency=currency, lo=lo, hi=hi, now=now, reads=reads
        )
        if data:
            _merge(window, data)
            month_values[cursor] = _groups_value(data.get("groups") or {})
        cursor = nxt

    months: list[MonthMovement] = []
    running = mrr_start
    cursor = start.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while cursor <= now.astimezone(tz):
        values = month_values.get(cursor, {})
        running += sum(values.values(), Fraction(0))
        row = MonthMovement(month=cursor, mrr_end=round_half_up(running))
        for kind in MOVEMENT_KINDS:
            setattr(row, kind, round_half_up(values.get(kind, Fraction(0))))
        months.append(row)
        cursor = cursor + relativedelta(months=1)
    totals_exact: dict[str, Fraction] = defaultdict(Fraction)
    for values in month_values.values():
        for kind, value in values.items():
            totals_exact[kind] += value
    movement_totals = {k: round_half_up(totals_exact.get(k, Fraction(0))) for k in MOVEMENT_KINDS}

    mrr = running  # the ledger telescopes to the live MRR (tests compare it with mrr_now)
    active_subscriptions = int(before["subs"]) + int(window["subs"])
    active_customers = customers_at_start + int(window["gained"]) - int(window["lost"])
    trials = Subscription.objects.filter(
        organization=organization, currency=currency, status=SubscriptionStatus.TRIALING
    ).count()
    churned = _churned_customers(organization=organization, currency=currency, lo=start, hi=end)
    lost = -(totals_exact.get("churn", Fraction(0)) + totals_exact.get("contraction", Fraction(0)))

    overdue = Invoice.objects.filter(
        organization=organization, currency=currency, status=InvoiceStatus.OPEN, due_at__lt=now
    ).aggregate(n=Count("pk"), s=Sum("amount_due_minor"))

    attempts = _attempts_range(organization=organization, lo=start, hi=now, now=now, reads=reads)
    failed_n, failed_s, rec_n, rec_s = (attempts.get("by_currency") or {}).get(
        currency, [0, 0, 0, 0]
    )

    mrr_minor = round_half_up(mrr)
    return Metrics(
        currency=currency,
        period=period,
        start=start,
        now=now,
        mrr_minor=mrr_minor,
        arr_minor=round_half_up(mrr * 12),
        active_subscriptions=active_subscriptions,
        active_customers=active_customers,
        trials=trials,
        arpu_minor=round_half_up(mrr / active_customers) if active_customers else 0,
        churned_customers=churned,
        customers_at_start=customers_at_start,
        customer_churn_rate=(Fraction(churned, customers_at_start) if customers_at_start else None),
        revenue_churn_rate=lost / mrr_start if mrr_start else None,
        movement_totals=movement_totals,
        months=months,
        overdue_count=overdue["n"],
        overdue_minor=int(overdue["s"] or 0),
        failed_payments_count=int(failed_n),
        failed_payments_minor=int(failed_s),
        recovered_count=int(rec_n),
        recovered_minor=int(rec_s),
        forecasts=_forecasts(organization=organization, now=now, cacheable=cacheable, reads=reads),
    )
