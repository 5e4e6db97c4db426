"""Pure subscription planning: what a renewal, a plan change or a cancellation would do.

No database access here. A ``SubscriptionSnapshot`` is a plain copy of a subscription (with its
price, tax and coupon as plain values); the planners return the snapshot *after* the action and
the invoice document to write (``billing.invoicing.DocumentDraft``). Services persist a plan;
previews return it. A set-based billing run can build snapshots for many subscriptions at once
and call ``plan_renewal`` for each, sharing every rule with the per-subscription service.

Rules decided here:

* First period: starts at local midnight of the start date. Without a trial the anchor is the
  start date (or the first date with the requested anchor day, the first period then being a
  prorated stub). With a trial the subscription is ``trialing`` until ``trial_end`` (local
  midnight ``trial_days`` after the start), nothing is invoiced, and the anchor defaults to
  the trial end date; the trial ends into the first invoice.
* Renewal: the next period starts at ``next_billing_at`` (the end of the last billed period,
  the trial end, or the resume day) and ends at the first calendar boundary after it, so
  periods never overlap and, while the subscription is billable, never leave a gap. A period
  shorter than a full one (a stub) is prorated by ``billing.proration``.
* Setup fee: on the first invoice that bills a period (after the trial, if any).
* Coupons: discount only the recurring subscription lines (not prorations, not setup fees);
  ``once`` applies to one period invoice, ``repeating`` to ``duration_periods`` of them,
  ``forever`` to all.
* Pause: no invoices while paused. Resume rule: resuming before the end of the already billed
  period changes nothing (billing continues on the old anchor at the period end); resuming
  later starts a new period at local midnight of the resume day, invoiced at once, and the
  anchor moves to that day.
* Change now with proration: a credit for the unused share of the old price and a charge for
  the remaining share of the new one (two lines, each rounded once, taxed like their price).
  A change to another interval only takes effect at the next period. During a trial nothing
  is prorated. A change at the next period is stored as pending and applied by the renewal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from billing import calendar
from billing.invoicing import DiscountSpec, DocumentDraft, LineDraft, TaxSpec, build_document
from billing.proration import prorate, remaining_fraction

ACTIVE, TRIALING, PAST_DUE = "active", "trialing", "past_due"
PAUSED, CANCELED = "paused", "canceled"
RENEWABLE = frozenset({ACTIVE, TRIALING, PAST_DUE})


@dataclass(frozen=True, slots=True)
class PriceInfo:
    id: int | None
    name: str
    currency: str
    amount_minor: int
    interval: str
    interval_count: int
    setup_fee_minor: int = 0
    trial_days: int = 0
    tax: TaxSpec | None = None
    tax_inclusive: bool = False

    @classmethod
    def from_model(cls, price) -> PriceInfo:
        rate = price.tax_rate if price.tax_behavior != "none" else None
        return cls(
            id=price.pk,
            name=price.nickname or price.product.name,
            currency=price.currency,
            amount_minor=price.amount_minor,
            interval=price.interval,
            interval_count=price.interval_count,
            setup_fee_minor=price.setup_fee_minor,
            trial_days=price.trial_days,
            tax=TaxSpec(rate.pk, rate.name, rate.percentage) if rate is not None else None,
            tax_inclusive=price.tax_behavior == "inclusive",
        )


@dataclass(frozen=True, slots=True)
class CouponInfo:
    id: int | None
    code: str
    name: str
    duration: str
    percent_off: Decimal | None = None
    amount_off_minor: int | None = None
    duration_periods: int | None = None

    @classmethod
    def from_model(cls, coupon) -> CouponInfo:
        return cls(
            id=coupon.pk,
            code=coupon.code,
            name=coupon.name,
            duration=coupon.duration,
            percent_off=coupon.percent_off,
            amount_off_minor=coupon.amount_off_minor,
            duration_periods=coupon.duration_periods,
        )

    def applies(self, periods_used: int) -> bool:
        if self.duration == "forever":
            return True
        if self.duration == "once":
            return periods_used == 0
        return periods_used < (self.duration_periods or 0)

    def spec(self) -> DiscountSpec:
        return DiscountSpec(
            description=_("Discount %(name)s (%(code)s)") % {"name": self.name, "code": self.code},
            percent_off=self.percent_off,
            amount_off_minor=self.amount_off_minor,
            coupon_id=self.id,
        )


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    status: str
    price: PriceInfo
    quantity: int
    time_zone: str
    anchor_date: date
    anchor_day: int
    started_at: datetime
    current_period_start: datetime
    current_period_end: datetime
    period_index: int
    next_billing_at: datetime | None
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    paused_at: datetime | None = None
    resume_at: datetime | None = None
    coupon: CouponInfo | None = None
    coupon_periods_used: int = 0
    # Renewal discount providers' discounts for the next period (billing.renewal_discounts);
    # set by the renewal service for one period, never carried to the state after it.
    extra_discounts: tuple[DiscountSpec, ...] = ()
    pending_price: PriceInfo | None = None
    pending_quantity: int | None = None
    setup_fee_invoiced: bool = False

    @property
    def schedule(self) -> calendar.Schedule:
        return calendar.Schedule(
            anchor_date=self.anchor_date,
            anchor_day=self.anchor_day,
            interval=self.price.interval,
            interval_count=self.price.interval_count,
            time_zone=self.time_zone,
        )

    @property
    def currency(self) -> str:
        return self.price.currency


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of planning one action: the snapshot after it, the document to issue (or
    None), the credit to add to the customer's balance, and the events to emit."""

    before: SubscriptionSnapshot
    after: SubscriptionSnapshot
    document: DocumentDraft | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    credit_minor: int = 0
    events: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.after != self.before or self.document is not None


# -- lines ----------------------------------------------------------------------------------


def _date_label(instant: datetime, time_zone: str) -> str:
    return formats.date_format(calendar.local_date(instant, time_zone), "SHORT_DATE_FORMAT")


def period_label(start: datetime, end: datetime, time_zone: str) -> str:
    # The end is exclusive; show the last local day included.
    last = calendar.local_date(end, time_zone)
    last_label = formats.date_format(last - timedelta(days=1), "SHORT_DATE_FORMAT")
    return f"{_date_label(start, time_zone)} – {last_label}"


def recurring_line(
    price: PriceInfo,
    quantity: int,
    start: datetime,
    end: datetime,
    schedule: calendar.Schedule,
) -> LineDraft:
    """The charge for ``[start, end)``: the full amount for a full period, else prorated."""
    full_start, full_end = calendar.enclosing_full_period(schedule, end)
    gross = price.amount_minor * quantity
    if start <= full_start:
        amount = gross
    else:
        fraction = remaining_fraction(
            at=start, period_end=end, full_start=full_start, full_end=full_end
        )
        amount = prorate(gross, fraction)
    label = period_label(start, end, schedule.time_zone)
    return LineDraft(
        kind="subscription",
        description=f"{quantity} × {price.name} ({label})",
        amount_minor=amount,
        quantity=quantity,
        unit_amount_minor=price.amount_minor,
        tax=price.tax,
        tax_inclusive=price.tax_inclusive,
        price_id=price.id,
        period_start=start,
        period_end=end,
        discountable=True,
    )


def setup_fee_line(price: PriceInfo) -> LineDraft:
    return LineDraft(
        kind="setup_fee",
        description=_("Setup fee: %(name)s") % {"name": price.name},
        amount_minor=price.setup_fee_minor,
        unit_amount_minor=price.setup_fee_minor,
        tax=price.tax,
        tax_inclusive=price.tax_inclusive,
        price_id=price.id,
    )


def proration_lines(
    snap: SubscriptionSnapshot,
    *,
    at: datetime,
    new_price: PriceInfo | None,
    new_quantity: int,
) -> list[LineDraft]:
    """Credit for the unused old plan from ``at`` to the period end, and (if ``new_price``)
    the charge for the new plan over the same time. Each line rounded once."""
    full_start, full_end = calendar.enclosing_full_period(snap.schedule, snap.current_period_end)
    fraction = remaining_fraction(
        at=at, period_end=snap.current_period_end, full_start=full_start, full_end=full_end
    )
    tz = snap.time_zone
    label = period_label(at, snap.current_period_end, tz)
    old = snap.price
    lines = [
        LineDraft(
            kind="proration",
            description=_("Unused time on %(qty)s × %(name)s (%(period)s)")
            % {"qty": snap.quantity, "name": old.name, "period": label},
            amount_minor=-prorate(old.amount_minor * snap.quantity, fraction),
            quantity=snap.quantity,
            unit_amount_minor=old.amount_minor,
            tax=old.tax,
            tax_inclusive=old.tax_inclusive,
            price_id=old.id,
            period_start=at,
            period_end=snap.current_period_end,
        )
    ]
    if new_price is not None:
        lines.append(
            LineDraft(
                kind="proration",
                description=_("Remaining time on %(qty)s × %(name)s (%(period)s)")
                % {"qty": new_quantity, "name": new_price.name, "period": label},
                amount_minor=prorate(new_price.amount_minor * new_quantity, fraction),
                quantity=new_quantity,
                unit_amount_minor=new_price.amount_minor,
                tax=new_price.tax,
                tax_inclusive=new_price.tax_inclusive,
                price_id=new_price.id,
                period_start=at,
                period_end=snap.current_period_end,
            )
        )
    return [ln for ln in lines if ln.amount_minor != 0]


def period_document(
    snap: SubscriptionSnapshot, start: datetime, end: datetime, *, credit_available_minor: int
) -> tuple[DocumentDraft, bool]:
    """The invoice for period ``[start, end)``; returns (document, coupon applied)."""
    lines = [recurring_line(snap.price, snap.quantity, start, end, snap.schedule)]
    if not snap.setup_fee_invoiced and snap.price.setup_fee_minor > 0:
        lines.append(setup_fee_line(snap.price))
    discount = None
    if snap.coupon is not None and snap.coupon.applies(snap.coupon_periods_used):
        discount = snap.coupon.spec()
    doc = build_document(
        currency=snap.currency,
        lines=lines,
        discount=discount,
        credit_available_minor=credit_available_minor,
        extra_discounts=snap.extra_discounts,
    )
    return doc, discount is not None


# -- planners -------------------------------------------------------------------------------


def plan_start(
    *,
    price: PriceInfo,
    quantity: int,
    time_zone: str,
    start_at: datetime,
    trial_days: int,
    anchor_day: int | None,
    coupon: CouponInfo | None,
    credit_available_minor: int = 0,
) -> Plan:
    """A new subscription: its first state and (without a trial) its first invoice."""
    start_date = calendar.local_date(start_at, time_zone)
    period_start = calendar.local_midnight(start_date, time_zone)
    trial_end = None
    if trial_days > 0:
        trial_end_date = start_date + timedelta(days=trial_days)
        trial_end = calendar.local_midnight(trial_end_date, time_zone)
        base = trial_end_date
    else:
        base = start_date
    if anchor_day is None or price.interval in ("day", "week"):
        anchor_date, day = base, base.day
    else:
        anchor_date = calendar.first_anchor_date(base, anchor_day, price.interval)
        day = anchor_day
    snap = SubscriptionSnapshot(
        status=TRIALING if trial_end else ACTIVE,
        price=price,
        quantity=quantity,
        time_zone=time_zone,
        anchor_date=anchor_date,
        anchor_day=day,
        started_at=start_at,
        current_period_start=period_start,
        current_period_end=trial_end or period_start,  # placeholder until the period is set
        period_index=-1,
        next_billing_at=trial_end,
        trial_end=trial_end,
        coupon=coupon,
    )
    if trial_end is not None:
        return Plan(before=snap, after=snap, events=("subscription.created",))
    k = calendar.boundary_index_after(snap.schedule, period_start)
    end = calendar.boundary(snap.schedule, k)
    doc, coupon_used = period_document(
        snap, period_start, end, credit_available_minor=credit_available_minor
    )
    after = replace(
        snap,
        current_period_end=end,
        period_index=k - 1,
        next_billing_at=end,
        setup_fee_invoiced=True,
        coupon_periods_used=snap.coupon_periods_used + int(coupon_used),
        extra_discounts=(),
    )
    return Plan(
        before=snap,
        after=after,
        document=doc,
        period_start=period_start,
        period_end=end,
        events=("subscription.created",),
    )


def apply_resume(snap: SubscriptionSnapshot, *, at: datetime) -> SubscriptionSnapshot:
    """The state after resuming at ``at`` (see the resume rule in the module docstring)."""
    base = replace(snap, status=ACTIVE, paused_at=None, resume_at=None)
    if at < snap.current_period_end:
        return replace(base, next_billing_at=snap.current_period_end)
    day = calendar.local_date(at, snap.time_zone)
    return replace(
        base,
        anchor_date=day,
        anchor_day=day.day,
        next_billing_at=calendar.local_midnight(day, snap.time_zone),
    )


def plan_renewal(
    snap: SubscriptionSnapshot, *, now: datetime, credit_available_minor: int = 0
) -> Plan:
    """What the billing run does for this subscription at ``now`` (one period at most).

    Call again while ``after.next_billing_at <= now`` to catch up missed periods in order."""
    before = snap
    events: list[str] = []
    if snap.status == PAUSED:
        if snap.resume_at is None or snap.resume_at > now:
            return Plan(before=before, after=snap)
        snap = apply_resume(snap, at=snap.resume_at)
        events.append("subscription.resumed")
    if snap.status not in RENEWABLE or snap.next_billing_at is None or snap.next_billing_at > now:
        return Plan(before=before, after=snap, events=tuple(events))
    if snap.cancel_at_period_end:
        after = replace(
            snap, status=CANCELED, canceled_at=snap.next_billing_at, next_billing_at=None
        )
        return Plan(before=before, after=after, events=(*events, "subscription.canceled"))
    if snap.status == TRIALING:
        snap = replace(snap, status=ACTIVE)
        events.append("subscription.trial_ended")
    if snap.pending_price is not None or snap.pending_quantity is not None:
        new_price = snap.pending_price or snap.price
        moved = (new_price.interval, new_price.interval_count) != (
            snap.price.interval,
            snap.price.interval_count,
        )
        snap = replace(
            snap,
            price=new_price,
            quantity=snap.pending_quantity or snap.quantity,
            pending_price=None,
            pending_quantity=None,
        )
        if moved:
            start_at = snap.next_billing_at
            assert start_at is not None
            snap = replace(snap, anchor_date=calendar.local_date(start_at, snap.time_zone))
        events.append("subscription.updated")
    start = snap.next_billing_at
    assert start is not None
    k = calendar.boundary_index_after(snap.schedule, start)
    end = calendar.boundary(snap.schedule, k)
    doc, coupon_used = period_document(
        snap, start, end, credit_available_minor=credit_available_minor
    )
    after = replace(
        snap,
        current_period_start=start,
        current_period_end=end,
        period_index=k - 1,
        next_billing_at=end,
        setup_fee_invoiced=True,
        coupon_periods_used=snap.coupon_periods_used + int(coupon_used),
        extra_discounts=(),
    )
    return Plan(
        before=before,
        after=after,
        document=doc,
        period_start=start,
        period_end=end,
        events=(*events, "subscription.renewed"),
    )


def plan_change(
    snap: SubscriptionSnapshot,
    *,
    new_price: PriceInfo,
    new_quantity: int,
    at: datetime,
    prorate_now: bool,
    next_period: bool,
) -> Plan:
    """A price and/or quantity change (currency and state checks are the service's job)."""
    if next_period:
        after = replace(
            snap,
            pending_price=new_price if new_price != snap.price else None,
            pending_quantity=new_quantity if new_quantity != snap.quantity else None,
        )
        return Plan(before=snap, after=after, events=("subscription.updated",))
    after = replace(
        snap, price=new_price, quantity=new_quantity, pending_price=None, pending_quantity=None
    )
    in_paid_period = (
        snap.status in (ACTIVE, PAST_DUE)
        and snap.current_period_start <= at < snap.current_period_end
    )
    if not prorate_now or not in_paid_period:
        return Plan(before=snap, after=after, events=("subscription.updated",))
    lines = proration_lines(snap, at=at, new_price=new_price, new_quantity=new_quantity)
    if not lines:
        return Plan(before=snap, after=after, events=("subscription.updated",))
    doc = build_document(currency=snap.currency, lines=lines)
    credit = -doc.total_minor if doc.total_minor < 0 else 0
    return Plan(
        before=snap,
        after=after,
        document=doc,
        period_start=at,
        period_end=snap.current_period_end,
        credit_minor=credit,
        events=("subscription.updated",),
    )


def plan_cancel(
    snap: SubscriptionSnapshot, *, at: datetime, at_period_end: bool, prorated_credit: bool
) -> Plan:
    if at_period_end:
        after = replace(snap, cancel_at_period_end=True)
        return Plan(before=snap, after=after, events=("subscription.updated",))
    after = replace(
        snap,
        status=CANCELED,
        canceled_at=at,
        next_billing_at=None,
        pending_price=None,
        pending_quantity=None,
    )
    in_paid_period = (
        snap.status in (ACTIVE, PAST_DUE)
        and snap.current_period_start <= at < snap.current_period_end
    )
    if not prorated_credit or not in_paid_period:
        return Plan(before=snap, after=after, events=("subscription.canceled",))
    lines = proration_lines(snap, at=at, new_price=None, new_quantity=0)
    if not lines:
        return Plan(before=snap, after=after, events=("subscription.canceled",))
    doc = build_document(currency=snap.currency, lines=lines)
    return Plan(
        before=snap,
        after=after,
        document=doc,
        period_start=at,
        period_end=snap.current_period_end,
        credit_minor=-doc.total_minor,
        events=("subscription.canceled",),
    )


def preview_renewals(snap: SubscriptionSnapshot, *, count: int) -> list[Plan]:
    """The next ``count`` invoice-producing renewals, simulated forward (no credit balance)."""
    plans: list[Plan] = []
    guard = 0
    while len(plans) < count and guard < count * 4 + 4:
        guard += 1
        when = snap.next_billing_at
        if snap.status == PAUSED:
            when = snap.resume_at
        if when is None:
            break
        plan = plan_renewal(snap, now=when)
        if not plan.changed:
            break
        if plan.document is not None:
            plans.append(plan)
        snap = plan.after
    return plans
