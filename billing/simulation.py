"""The plan simulator: a year (or any horizon) of invoices for a price or a subscription,
computed by the real planners (``billing.planning``, which use ``billing.proration`` and
``billing.invoicing``) and written nowhere.

Pure: no database access. The caller builds the starting point (``PriceInfo``/``CouponInfo``
for a new subscription, ``SubscriptionSnapshot`` plus the customer's credit balance for an
existing one) and gets back every document the billing code would issue until the horizon,
in order, with the running credit balance applied exactly as ``invoice_finalize`` applies it
(``min(balance, total)``) and a net proration credit moved to the balance exactly as the
subscription services do.

An optional ``PlannedChange`` switches price and/or quantity on a given instant: "now" with
proration (``plan_change(prorate_now=True)``: a credit line for the unused old plan and a
charge line for the new one) or "at the next period" (a pending change the next renewal
applies). A change of billing interval only takes effect at the next period, like the real
service.

Amounts are int minor units of the price's currency; every document's lines sum to its total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from billing.error_codes import BillingError, BillingErrorCode
from billing.invoicing import DocumentDraft, with_credit
from billing.planning import (
    PAUSED,
    CouponInfo,
    Plan,
    PriceInfo,
    SubscriptionSnapshot,
    plan_change,
    plan_renewal,
    plan_start,
)

# Invoices a simulation may produce at most (a daily price over three years, plus changes).
MAX_DOCUMENTS = 1200

CREATE, CYCLE, UPDATE = "subscription_create", "subscription_cycle", "subscription_update"


@dataclass(frozen=True, slots=True)
class PlannedChange:
    at: datetime
    price: PriceInfo
    quantity: int
    next_period: bool = False


@dataclass(frozen=True, slots=True)
class SimulatedDocument:
    """One document the billing code would issue at ``at``.

    ``credited_minor`` > 0 means the document is a net credit (a downgrade's proration): it
    is not an invoice; that amount goes to the customer's credit balance."""

    at: datetime
    reason: str
    document: DocumentDraft
    period_start: datetime | None
    period_end: datetime | None
    credited_minor: int = 0
    balance_after_minor: int = 0

    @property
    def is_invoice(self) -> bool:
        return self.credited_minor == 0


@dataclass(frozen=True, slots=True)
class Simulation:
    currency: str
    start: datetime
    until: datetime
    documents: tuple[SimulatedDocument, ...]
    opening_balance_minor: int
    end_state: SubscriptionSnapshot | None
    change_applied: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def invoices(self) -> list[SimulatedDocument]:
        return [d for d in self.documents if d.is_invoice]

    @property
    def total_minor(self) -> int:
        return sum(d.document.total_minor for d in self.invoices)

    @property
    def tax_minor(self) -> int:
        return sum(d.document.tax_minor for d in self.invoices)

    @property
    def discount_minor(self) -> int:
        return sum(d.document.discount_minor for d in self.invoices)

    @property
    def credit_applied_minor(self) -> int:
        return sum(d.document.credit_applied_minor for d in self.invoices)

    @property
    def amount_due_minor(self) -> int:
        return sum(d.document.amount_due_minor for d in self.invoices)

    @property
    def credited_minor(self) -> int:
        return sum(d.credited_minor for d in self.documents)

    @property
    def closing_balance_minor(self) -> int:
        return (
            self.documents[-1].balance_after_minor if self.documents else self.opening_balance_minor
        )


def check_change(snap: SubscriptionSnapshot, change: PlannedChange) -> None:
    """The subscription service's own rules for a change (``_plan_change``), on plain values."""
    if change.price.currency != snap.currency:
        raise BillingError(
            BillingErrorCode.CURRENCY_MISMATCH,
            current=snap.currency,
            requested=change.price.currency,
        )
    if change.quantity < 1:
        raise BillingError(BillingErrorCode.INVALID_QUANTITY)
    if change.price == snap.price and change.quantity == snap.quantity:
        raise BillingError(BillingErrorCode.NOTHING_TO_CHANGE)
    interval_changes = (change.price.interval, change.price.interval_count) != (
        snap.price.interval,
        snap.price.interval_count,
    )
    if interval_changes and not change.next_period and snap.status != "trialing":
        raise BillingError(BillingErrorCode.INVALID_INTERVAL)


class _Run:
    def __init__(self, *, balance: int) -> None:
        self.balance = balance
        self.documents: list[SimulatedDocument] = []

    def record(self, plan: Plan, *, at: datetime, reason: str) -> None:
        doc = plan.document
        if doc is not None and doc.total_minor >= 0 and doc.lines:
            # invoice_finalize: the balance pays what it can of the total.
            doc = with_credit(doc, self.balance)
            self.balance -= doc.credit_applied_minor
            self.documents.append(
                SimulatedDocument(
                    at=at,
                    reason=reason,
                    document=doc,
                    period_start=plan.period_start,
                    period_end=plan.period_end,
                    balance_after_minor=self.balance,
                )
            )
        if plan.credit_minor > 0 and doc is not None:
            self.balance += plan.credit_minor
            self.documents.append(
                SimulatedDocument(
                    at=at,
                    reason=reason,
                    document=doc,
                    period_start=plan.period_start,
                    period_end=plan.period_end,
                    credited_minor=plan.credit_minor,
                    balance_after_minor=self.balance,
                )
            )
        if len(self.documents) > MAX_DOCUMENTS:
            raise BillingError(BillingErrorCode.INVALID_DATE, detail="horizon too long")


def _forward(
    snap: SubscriptionSnapshot,
    *,
    run: _Run,
    start: datetime,
    until: datetime,
    change: PlannedChange | None,
) -> tuple[SubscriptionSnapshot, bool, list[str]]:
    """Renew (and apply ``change`` at its instant) until ``until`` (exclusive)."""
    notes: list[str] = []
    applied = False
    for _guard in range(MAX_DOCUMENTS * 2):
        when = snap.resume_at if snap.status == PAUSED else snap.next_billing_at
        if change is not None and not applied and (when is None or change.at < when):
            if change.at >= until:
                notes.append("change_after_horizon")
                change = None
                continue
            if snap.status not in ("active", "trialing", "past_due"):
                notes.append("change_not_live")
                change = None
                continue
            check_change(snap, change)
            plan = plan_change(
                snap,
                new_price=change.price,
                new_quantity=change.quantity,
                at=max(change.at, start),
                prorate_now=not change.next_period,
                next_period=change.next_period,
            )
            run.record(plan, at=max(change.at, start), reason=UPDATE)
            snap = plan.after
            applied = True
            continue
        if when is None or when >= until:
            break
        plan = plan_renewal(snap, now=when)
        if not plan.changed:
            break
        run.record(plan, at=when, reason=CYCLE)
        snap = plan.after
    return snap, applied, notes


def simulate_price(
    *,
    price: PriceInfo,
    quantity: int,
    time_zone: str,
    start_at: datetime,
    until: datetime,
    trial_days: int,
    anchor_day: int | None = None,
    coupon: CouponInfo | None = None,
    change: PlannedChange | None = None,
) -> Simulation:
    """A new subscription to ``price`` from ``start_at``: ``plan_start`` then the renewals."""
    if until <= start_at:
        raise BillingError(BillingErrorCode.INVALID_DATE)
    if quantity < 1:
        raise BillingError(BillingErrorCode.INVALID_QUANTITY)
    run = _Run(balance=0)
    first = plan_start(
        price=price,
        quantity=quantity,
        time_zone=time_zone,
        start_at=start_at,
        trial_days=trial_days,
        anchor_day=anchor_day,
        coupon=coupon,
    )
    run.record(first, at=start_at, reason=CREATE)
    snap, applied, notes = _forward(
        first.after, run=run, start=start_at, until=until, change=change
    )
    return Simulation(
        currency=price.currency,
        start=start_at,
        until=until,
        documents=tuple(run.documents),
        opening_balance_minor=0,
        end_state=snap,
        change_applied=applied,
        notes=tuple(notes),
    )


def simulate_subscription(
    snapshot: SubscriptionSnapshot,
    *,
    now: datetime,
    until: datetime,
    credit_balance_minor: int = 0,
    change: PlannedChange | None = None,
) -> Simulation:
    """An existing subscription from ``now``: what the billing run would issue until ``until``
    (periods already due at ``now`` are billed first, in order, as the run would)."""
    if until <= now:
        raise BillingError(BillingErrorCode.INVALID_DATE)
    run = _Run(balance=max(0, credit_balance_minor))
    snap, applied, notes = _forward(snapshot, run=run, start=now, until=until, change=change)
    return Simulation(
        currency=snapshot.currency,
        start=now,
        until=until,
        documents=tuple(run.documents),
        opening_balance_minor=max(0, credit_balance_minor),
        end_state=snap,
        change_applied=applied,
        notes=tuple(notes),
    )
