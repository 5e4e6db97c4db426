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
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import Count, Q, Sum

from billing.models import Invoice, Price, Subscription
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


def _scheduled_by_method(*, organization, now: datetime, days: int) -> list[tuple]:
    """``(method_type, amount_sum)``: every charge the schedule makes before ``now+days``
    (the next billing date and each following period while it stays in the window; a date
    already passed is a renewal the billing run has yet to pick up, so it counts), at
    ``price * quantity`` (list price, before tax and coupons), grouped by the type of the
    customer's default payment method. Subscriptions set to cancel at period end count
    nothing. Periods step by calendar intervals in UTC."""
    pm = _payments_models()
    method_sql = "NULL"
    if pm is not None:
        method_sql = f"""(SELECT m.type FROM {pm.PaymentMethod._meta.db_table} m
            WHERE m.customer_id = s.customer_id AND m.removed_at IS NULL
            ORDER BY m.is_default DESC, m.created_at DESC LIMIT 1)"""  # noqa: S608
    sql = f"""
    SELECT {method_sql} AS method_type, SUM(p.amount_minor * s.quantity)
    FROM {Subscription._meta.db_table} s
    JOIN {Price._meta.db_table} p ON p.id = s.price_id
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
        "now": now,
        "end": now + timedelta(days=days),
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


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
    """All figures of the staff home for ``organization`` over ``period`` (see ``PERIODS``)."""
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    now = now or clock.now(organization)
    currency = organization.default_currency
    start = period_start(organization=organization, period=period, now=now)
    tz = ZoneInfo(organization.time_zone)

    mrr = mrr_now(organization=organization)
    live = Subscription.objects.filter(organization=organization, currency=currency)
    counts = live.aggregate(
        active=Count("pk", filter=Q(status__in=MRR_STATUSES)),
        customers=Count("customer", distinct=True, filter=Q(status__in=MRR_STATUSES)),
        trials=Count("pk", filter=Q(status=SubscriptionStatus.TRIALING)),
    )

    # MRR at the start and movements since, per month.
    mrr_start, customers_start = _state_at(organization=organization, at=start)
    _mrr_end, customers_end = _state_at(organization=organization, at=now + timedelta(seconds=1))
    month_values: dict[datetime, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for month, kind, prev_cnt, cur_cnt, prev_sum, cur_sum in _movements(
        organization=organization, start=start, end=now + timedelta(seconds=1)
    ):
        key = month.replace(tzinfo=tz)
        month_values[key][kind] += _monthly(cur_sum, cur_cnt) - _monthly(prev_sum, prev_cnt)

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

    churned = len(customers_start - customers_end)
    lost = -(totals_exact.get("churn", Fraction(0)) + totals_exact.get("contraction", Fraction(0)))

    overdue = Invoice.objects.filter(
        organization=organization, currency=currency, status=InvoiceStatus.OPEN, due_at__lt=now
    ).aggregate(n=Count("pk"), s=Sum("amount_due_minor"))

    failed_n = failed_s = rec_n = rec_s = 0
    pm = _payments_models()
    if pm is not None:
        attempts = pm.PaymentAttempt.objects.filter(
            organization=organization, currency=currency, created_at__gte=start, created_at__lt=now
        )
        agg = attempts.aggregate(
            fn=Count("pk", filter=Q(status=pm.AttemptStatus.FAILED)),
            fs=Sum("amount_minor", filter=Q(status=pm.AttemptStatus.FAILED)),
            rn=Count(
                "pk",
                filter=Q(attempt_number__gt=1, status__in=_succeeded_statuses(pm)),
            ),
            rs=Sum(
                "amount_minor",
                filter=Q(attempt_number__gt=1, status__in=_succeeded_statuses(pm)),
            ),
        )
        failed_n, failed_s = agg["fn"], int(agg["fs"] or 0)
        rec_n, rec_s = agg["rn"], int(agg["rs"] or 0)

    rates = success_rates(organization=organization)
    mrr_minor = round_half_up(mrr)
    return Metrics(
        currency=currency,
        period=period,
        start=start,
        now=now,
        mrr_minor=mrr_minor,
        arr_minor=round_half_up(mrr * 12),
        active_subscriptions=counts["active"],
        active_customers=counts["customers"],
        trials=counts["trials"],
        arpu_minor=round_half_up(mrr / counts["customers"]) if counts["customers"] else 0,
        churned_customers=churned,
        customers_at_start=len(customers_start),
        customer_churn_rate=Fraction(churned, len(customers_start)) if customers_start else None,
        revenue_churn_rate=lost / mrr_start if mrr_start else None,
        movement_totals=movement_totals,
        months=months,
        overdue_count=overdue["n"],
        overdue_minor=int(overdue["s"] or 0),
        failed_payments_count=failed_n,
        failed_payments_minor=failed_s,
        recovered_count=rec_n,
        recovered_minor=rec_s,
        forecasts=[
            forecast(organization=organization, now=now, days=d, rates=rates)
            for d in FORECAST_WINDOWS
        ],
    )
