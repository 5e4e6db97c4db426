"""The billing run: renew every due subscription exactly once, in order, in chunks.

Shape (see ARCHITECTURE.md, "The billing run"):

* ``billing_run_tick`` (beat, every minute) finds the organizations with subscriptions due at
  their clock (a sandbox organization's test clock, else the wall clock) and fans out chunks
  ``(organization, id range)`` as tasks on the ``billing`` queue. A transaction-level advisory
  lock keeps two beats from fanning out at the same time; it is a courtesy, not the guarantee.
* ``billing_run_chunk`` renews the due subscriptions of one chunk. Rows are locked with
  ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent runs share the work instead of waiting,
  and each subscription is caught up period by period (after downtime every missed period is
  billed once, oldest first).

Exactly once. The unique constraint on invoices (subscription, period_start) is the fact that a
period has been billed; the subscription's ``next_billing_at`` moves in the same transaction as
the invoice, so a repeat (two beats, a redelivered task, a crashed worker) finds nothing due, and
a crash rolls back the invoice, its lines, its number and its events together.

Two paths, one set of rules (``billing.planning.plan_renewal``):

* the **slow path** calls ``subscription_renew`` once per period, each in its own transaction;
* the **fast path** (the default) locks a batch of due subscriptions, plans every period in
  Python, takes a block of gap-free numbers from the organization's ``DocumentSequence`` row
  under its lock, and writes invoices, lines, taxes, credit applications and outbox events
  with ``COPY`` and the subscriptions with one set-based ``UPDATE``, all in one transaction.
  It writes exactly what the slow path writes (tests compare them). If anything in a batch
  fails, the batch rolls back and its subscriptions go through the slow path one by one, so
  one broken subscription never blocks the others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from billing.models import (
    SUBSCRIPTION_TRANSITIONS,
    BillingReason,
    CollectionMethod,
    Coupon,
    CreditLedgerEntry,
    DocumentSequence,
    DocumentType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    Price,
    Subscription,
)
from billing.models.invoice import PERIOD_REASONS
from billing.planning import CouponInfo, Plan, PriceInfo, SubscriptionSnapshot, plan_renewal
from billing.renewal_discounts import subscriptions_with_renewal_discounts
from billing.services.numbering import _prefix
from billing.services.subscriptions import subscription_renew
from cobro import clock
from cobro.models import Organization, OutboxEvent
from cobro.tenancy.context import use_organization
from customers.models import Customer

logger = logging.getLogger(__name__)

# Subscriptions per fan-out task: small enough that a task is a few seconds of work and a
# redelivery repeats little, large enough that ten million subscriptions are a few thousand
# tasks.
CHUNK_SIZE = 5_000
# Subscriptions locked and renewed per transaction in the fast path. Bounded so a
# transaction (and the lock on the organization's number sequence) stays short.
BATCH_SIZE = 250
# A subscription is never caught up by more than this many periods in one run (a daily price
# after years of downtime); the next run continues where this one stopped.
MAX_PERIODS_PER_RUN = 400
# Key of the advisory lock that makes the tick a singleton (any constant unique in the app).
TICK_LOCK_KEY = 0x636F62726F_01  # "cobro" + 1


@dataclass(frozen=True)
class Chunk:
    """A unit of fan-out: due subscriptions of one organization with ``id_from <= id <= id_to``
    as of ``now`` (the organization's clock when the tick ran)."""

    organization_id: int
    id_from: int
    id_to: int
    now: datetime
    due: int = 0


@dataclass
class RunStats:
    """What a run did: subscriptions it advanced, invoices it issued, how many of those will
    be charged automatically (open, collected by charge, something due: the outbox enqueues
    their first payment attempt), and subscriptions it left alone (locked by another worker,
    not renewable, or failing: logged)."""

    subscriptions: int = 0
    invoices: int = 0
    periods: int = 0
    charges: int = 0
    failed: list[int] = field(default_factory=list)

    def add(self, other: RunStats) -> None:
        self.subscriptions += other.subscriptions
        self.invoices += other.invoices
        self.periods += other.periods
        self.charges += other.charges
        self.failed.extend(other.failed)


# -- fan-out ---------------------------------------------------------------------------------

_DUE_CHUNKS_SQL = """
WITH due AS (
    SELECT s.organization_id, s.id,
           CASE WHEN o.is_sandbox AND o.test_clock_at IS NOT NULL
                THEN o.test_clock_at ELSE %(now)s END AS org_now,
           (row_number() OVER (PARTITION BY s.organization_id ORDER BY s.id) - 1)
               / %(chunk)s AS n
    FROM billing_subscription s
    JOIN cobro_organization o ON o.id = s.organization_id
    WHERE s.next_billing_at IS NOT NULL
      AND s.next_billing_at <= CASE WHEN o.is_sandbox AND o.test_clock_at IS NOT NULL
                                    THEN o.test_clock_at ELSE %(now)s END
      {org_filter}
)
SELECT organization_id, n, min(id), max(id), min(org_now), count(*)
FROM due GROUP BY organization_id, n ORDER BY organization_id, n
"""


def billing_run_due_chunks(
    *, now: datetime, chunk_size: int = CHUNK_SIZE, organization_id: int | None = None
) -> list[Chunk]:
    """Partition what is due into chunks (one set-based query over the partial due index)."""
    params: dict[str, Any] = {"now": now, "chunk": chunk_size}
    org_filter = ""
    if organization_id is not None:
        org_filter = "AND s.organization_id = %(org)s"
        params["org"] = organization_id
    with connection.cursor() as cursor:
        cursor.execute(_DUE_CHUNKS_SQL.format(org_filter=org_filter), params)
        rows = cursor.fetchall()
    return [
        Chunk(organization_id=org, id_from=lo, id_to=hi, now=org_now, due=count)
        for org, _n, lo, hi, org_now, count in rows
    ]


def billing_run_tick(*, now: datetime | None = None) -> list[Chunk]:
    """Fan out the due chunks as ``billing.run_chunk`` tasks on the ``billing`` queue.

    Guarded by ``pg_try_advisory_xact_lock``: a second beat (or an operator running the tick
    by hand) that overlaps finds the lock taken and does nothing. The lock is released with
    the transaction, so a crashed beat never holds it. Returns the chunks enqueued.
    """
    from billing.tasks import billing_run_chunk_task

    now = now or clock.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK_KEY])
            (locked,) = cursor.fetchone()
        if not locked:
            logger.info("billing tick skipped: another tick is running")
            return []
        chunks = billing_run_due_chunks(now=now)
        for chunk in chunks:
            billing_run_chunk_task.apply_async(
                kwargs={
                    "organization_id": chunk.organization_id,
                    "id_from": chunk.id_from,
                    "id_to": chunk.id_to,
                    "now": chunk.now.isoformat(),
                },
                queue="billing",
            )
    if chunks:
        logger.info("billing tick: %d chunks, %d due", len(chunks), sum(c.due for c in chunks))
    return chunks


def billing_run_all(*, now: datetime | None = None, fast: bool = True, **kwargs) -> RunStats:
    """Run everything due now in this process, without Celery (operators, tests, bench)."""
    now = now or clock.now()
    stats = RunStats()
    for chunk in billing_run_due_chunks(now=now):
        stats.add(
            billing_run_chunk(
                organization_id=chunk.organization_id,
                id_from=chunk.id_from,
                id_to=chunk.id_to,
                now=chunk.now,
                fast=fast,
                **kwargs,
            )
        )
    return stats


# -- one chunk -------------------------------------------------------------------------------


def billing_run_chunk(
    *,
    organization_id: int,
    id_from: int,
    id_to: int,
    now: datetime,
    fast: bool = True,
    batch_size: int = BATCH_SIZE,
) -> RunStats:
    """Renew every subscription of the chunk due at ``now``, catching up missed periods.

    Idempotent: a repeat finds nothing due. Subscriptions locked by a concurrent run are
    skipped (that run is renewing them). Walks the id range once with a keyset cursor, so a
    subscription that cannot advance is never retried in a loop.
    """
    organization = Organization.objects.get(pk=organization_id)
    stats = RunStats()
    cursor = id_from - 1
    with use_organization(organization):
        while True:
            if fast:
                batch, last_id = _fast_batch(
                    organization, id_after=cursor, id_to=id_to, now=now, limit=batch_size
                )
            else:
                ids = list(
                    _due(organization.pk, id_after=cursor, id_to=id_to, now=now).values_list(
                        "pk", flat=True
                    )[:batch_size]
                )
                last_id = ids[-1] if ids else None
                batch = _slow_batch(ids, now=now)
            if last_id is None:
                break
            stats.add(batch)
            cursor = last_id
    return stats


def _due(organization_id: int, *, id_after: int, id_to: int, now: datetime):
    return Subscription.unscoped.filter(
        organization_id=organization_id,
        pk__gt=id_after,
        pk__lte=id_to,
        next_billing_at__isnull=False,
        next_billing_at__lte=now,
    ).order_by("pk")


# -- slow path: one subscription, one period, one transaction --------------------------------


def billing_run_subscription(*, subscription_id: int, now: datetime) -> RunStats:
    """Catch one subscription up to ``now`` through ``subscription_renew`` (one transaction
    per period). Stops when nothing is due, when another worker holds the row, or when a
    renewal changes nothing."""
    stats = RunStats()
    ref = Subscription(pk=subscription_id)
    state = _state(subscription_id)
    for _i in range(MAX_PERIODS_PER_RUN):
        if state is None or state[0] is None or state[0] > now:
            break
        invoice = subscription_renew(subscription=ref, now=now)
        if invoice is not None:
            stats.invoices += 1
            if _charged_automatically(invoice.status, invoice.collection_method):
                stats.charges += 1
        before, state = state, _state(subscription_id)
        if state == before:
            break  # locked by another worker, or nothing to renew
        stats.periods += 1
    if stats.periods:
        stats.subscriptions += 1
    return stats


def _charged_automatically(status: str, collection_method: str) -> bool:
    """Whether an invoice just issued gets a first payment attempt from the outbox (the rule
    of ``payments.charge_finalized_invoice``: open, and collected by charging; an open invoice
    always has something due)."""
    return (
        status == InvoiceStatus.OPEN and collection_method == CollectionMethod.CHARGE_AUTOMATICALLY
    )


def _state(subscription_id: int) -> tuple | None:
    return (
        Subscription.unscoped.filter(pk=subscription_id)
        .values_list("next_billing_at", "status", "period_index", "cancel_at_period_end")
        .first()
    )


def _slow_batch(ids: Iterable[int], *, now: datetime) -> RunStats:
    stats = RunStats()
    for sid in ids:
        try:
            stats.add(billing_run_subscription(subscription_id=sid, now=now))
        except Exception:
            logger.exception("billing run: subscription %s failed", sid)
            stats.failed.append(sid)
    return stats


# -- fast path: a batch of subscriptions, set-based writes -----------------------------------


def _fast_batch(
    organization: Organization, *, id_after: int, id_to: int, now: datetime, limit: int
) -> tuple[RunStats, int | None]:
    """Renew one batch; returns (stats, last id looked at) or (empty, None) when done."""
    ids: list[int] = []
    try:
        with transaction.atomic():
            # Plain rows, not model instances: building thousands of models is a large share
            # of a batch's CPU and only these columns are read.
            subs = [
                _SubRow(*row)
                for row in _due(organization.pk, id_after=id_after, id_to=id_to, now=now)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list(*_SubRow._fields)[:limit]
            ]
            if not subs:
                return RunStats(), None
            ids = [s.pk for s in subs]
            # Subscriptions with renewal discounts from higher layers (loyalty) go through
            # the per-subscription path after this batch commits (billing.renewal_discounts).
            deferred = subscriptions_with_renewal_discounts(
                organization_id=organization.pk,
                subscriptions=[(s.pk, s.customer_id) for s in subs],
            )
            stats = _renew_locked_batch(
                organization, [s for s in subs if s.pk not in deferred], now=now
            )
        if deferred:
            stats.add(_slow_batch(sorted(deferred), now=now))
        return stats, ids[-1]
    except Exception:
        if not ids:
            raise
        logger.warning(
            "billing run: fast batch %s..%s failed, renewing one by one",
            ids[0],
            ids[-1],
            exc_info=True,
        )
        return _slow_batch(ids, now=now), ids[-1]


class _SubRow(NamedTuple):
    """The columns of a subscription the fast path reads (same names as the model's)."""

    anchor_date: date
    billing_anchor_day: int
    cancel_at_period_end: bool
    canceled_at: datetime | None
    collection_method: str
    coupon_id: int | None
    coupon_periods_used: int
    current_period_end: datetime
    current_period_start: datetime
    customer_id: int
    days_until_due: int
    next_billing_at: datetime | None
    paused_at: datetime | None
    pending_price_id: int | None
    pending_quantity: int | None
    period_index: int
    pk: int
    price_id: int
    quantity: int
    resume_at: datetime | None
    setup_fee_invoiced: bool
    started_at: datetime
    status: str
    trial_end: datetime | None


class _Catalog:
    """Plain price and coupon values of one organization, loaded once per batch."""

    def __init__(self) -> None:
        self.prices: dict[int, PriceInfo] = {}
        self.coupons: dict[int, CouponInfo] = {}

    def load(self, subs: list[_SubRow]) -> None:
        price_ids = {s.price_id for s in subs} | {
            s.pending_price_id for s in subs if s.pending_price_id
        }
        missing = price_ids - self.prices.keys()
        if missing:
            for price in Price.unscoped.select_related("product", "tax_rate").filter(
                pk__in=missing
            ):
                self.prices[price.pk] = PriceInfo.from_model(price)
        coupon_ids = {s.coupon_id for s in subs if s.coupon_id} - self.coupons.keys()
        if coupon_ids:
            for coupon in Coupon.unscoped.filter(pk__in=coupon_ids):
                self.coupons[coupon.pk] = CouponInfo.from_model(coupon)

    def snapshot(self, sub: _SubRow, time_zone: str) -> SubscriptionSnapshot:
        """Exactly ``billing.services.subscriptions.subscription_snapshot`` without joins."""
        return SubscriptionSnapshot(
            status=sub.status,
            price=self.prices[sub.price_id],
            quantity=sub.quantity,
            time_zone=time_zone,
            anchor_date=sub.anchor_date,
            anchor_day=sub.billing_anchor_day,
            started_at=sub.started_at,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            period_index=sub.period_index,
            next_billing_at=sub.next_billing_at,
            trial_end=sub.trial_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            canceled_at=sub.canceled_at,
            paused_at=sub.paused_at,
            resume_at=sub.resume_at,
            coupon=self.coupons[sub.coupon_id] if sub.coupon_id else None,
            coupon_periods_used=sub.coupon_periods_used,
            pending_price=self.prices[sub.pending_price_id] if sub.pending_price_id else None,
            pending_quantity=sub.pending_quantity,
            setup_fee_invoiced=sub.setup_fee_invoiced,
        )


def _check_transition(before: str, after: str) -> None:
    if after != before and after not in SUBSCRIPTION_TRANSITIONS[before]:
        raise ValueError(f"renewal would move a subscription from {before} to {after}")


def _renew_locked_batch(
    organization: Organization, subs: list[_SubRow], *, now: datetime
) -> RunStats:
    """Plan and write the renewals of ``subs`` (locked by the caller's transaction)."""
    stats = RunStats()
    catalog = _Catalog()
    catalog.load(subs)
    tz = organization.time_zone

    # 1. Plan every due period of every subscription, in id order then period order (the
    #    order the slow path would bill them in, so numbers and credit match).
    plans: list[tuple[_SubRow, list[Plan]]] = []
    for sub in subs:
        snap = catalog.snapshot(sub, tz)
        steps: list[Plan] = []
        for _i in range(MAX_PERIODS_PER_RUN):
            plan = plan_renewal(snap, now=now)
            if not plan.changed:
                break
            _check_transition(plan.before.status, plan.after.status)
            steps.append(plan)
            snap = plan.after
            if snap.next_billing_at is None or snap.next_billing_at > now:
                break
        if steps:
            plans.append((sub, steps))

    # 2. A period that already has its invoice means inconsistent data (the invoice and the
    #    subscription move together): like the slow path, stop that subscription before it.
    def billable(plan: Plan) -> bool:
        doc = plan.document
        return doc is not None and doc.total_minor >= 0 and bool(doc.lines)

    starts = [p.period_start for _s, steps in plans for p in steps if billable(p)]
    if starts:
        existing = set(
            Invoice.unscoped.filter(
                subscription_id__in=[s.pk for s, _steps in plans],
                billing_reason__in=PERIOD_REASONS,
                period_start__gte=min(starts),  # type: ignore[type-var]
            ).values_list("subscription_id", "period_start")
        )
        if existing:
            kept = []
            for sub, steps in plans:
                for i, plan in enumerate(steps):
                    if billable(plan) and (sub.pk, plan.period_start) in existing:
                        logger.error(
                            "billing run: subscription %s period %s already invoiced but "
                            "still due; left for an operator",
                            sub.pk,
                            plan.period_start,
                        )
                        stats.failed.append(sub.pk)
                        steps = steps[:i]
                        break
                if steps:
                    kept.append((sub, steps))
            plans = kept
    if not plans:
        return stats

    issued = [(sub, plan) for sub, steps in plans for plan in steps if billable(plan)]

    # 3. Credit balances (only customers with credit are locked, in id order, as
    #    ``invoice_finalize`` does one at a time) and the block of invoice numbers. The
    #    sequence row is locked last and held until commit: every number taken is used.
    balances = _credit_balances({(sub.customer_id, plan.after.currency) for sub, plan in issued})
    first, prefix, padding = _take_numbers(organization, len(issued)) if issued else (0, "", 0)

    # 4. Build rows.
    event_now = clock.now(organization)
    dispatch_now = clock.now()
    invoice_ids = _next_ids(Invoice, len(issued))
    invoices: list[dict] = []
    lines: list[dict] = []
    taxes: list[dict] = []
    credits: list[dict] = []
    events: list[dict] = []
    invoice_of: dict[int, int] = {}  # id(plan) -> invoice id
    org_id = organization.pk

    def event(type_: str, payload: dict, subject_type: str, subject_id: int) -> None:
        events.append(
            {
                "id": uuid.uuid4(),
                "organization_id": org_id,
                "type": type_,
                "payload": Jsonb(payload),
                "subject_type": subject_type,
                "subject_id": str(subject_id),
                "created_at": event_now,
                "next_attempt_at": dispatch_now,
                "attempts": 0,
                "last_error": "",
            }
        )

    for n, ((sub, plan), invoice_id) in enumerate(zip(issued, invoice_ids, strict=True)):
        doc = plan.document
        assert doc is not None
        currency = plan.after.currency
        key = (sub.customer_id, currency)
        applied = 0
        if doc.total_minor > 0:
            applied = max(0, min(balances.get(key, 0), doc.total_minor))
            if applied:
                balances[key] -= applied
        seq = first + n
        number = f"{prefix}{seq:0{padding}d}"
        amount_due = doc.total_minor - applied
        paid = amount_due == 0
        due_at = now
        if sub.collection_method == CollectionMethod.SEND_INVOICE:
            due_at = now + timedelta(days=sub.days_until_due)
        row = {
            "id": invoice_id,
            "organization_id": org_id,
            "customer_id": sub.customer_id,
            "subscription_id": sub.pk,
            "currency": doc.currency,
            "status": str(InvoiceStatus.PAID if paid else InvoiceStatus.OPEN),
            "billing_reason": str(BillingReason.SUBSCRIPTION_CYCLE),
            "number": number,
            "sequence_number": seq,
            "period_start": plan.period_start,
            "period_end": plan.period_end,
            "created_at": now,
            "issued_at": now,
            "due_at": due_at,
            "paid_at": now if paid else None,
            "voided_at": None,
            "subtotal_minor": doc.subtotal_minor,
            "discount_minor": doc.discount_minor,
            "tax_minor": doc.tax_minor,
            "total_minor": doc.total_minor,
            "credit_applied_minor": applied,
            "amount_due_minor": amount_due,
            "amount_paid_minor": 0,
            "collection_method": sub.collection_method,
            "coupon_id": doc.coupon_id,
            "memo": "",
        }
        invoices.append(row)
        invoice_of[id(plan)] = invoice_id
        if not paid and sub.collection_method == CollectionMethod.CHARGE_AUTOMATICALLY:
            stats.charges += 1  # open: payments.charge_finalized_invoice will charge it
        for i, ln in enumerate(doc.lines):
            lines.append(
                {
                    "organization_id": org_id,
                    "invoice_id": invoice_id,
                    "position": i,
                    "kind": ln.kind,
                    "description": ln.description[:300],
                    "quantity": ln.quantity,
                    "unit_amount_minor": ln.unit_amount,
                    "amount_minor": ln.amount_minor,
                    "price_id": ln.price_id,
                    "tax_rate_id": ln.tax.rate_id if ln.tax else None,
                    "tax_inclusive": ln.tax_inclusive,
                    "period_start": ln.period_start,
                    "period_end": ln.period_end,
                }
            )
        for t in doc.taxes:
            taxes.append(
                {
                    "organization_id": org_id,
                    "invoice_id": invoice_id,
                    "tax_rate_id": t.tax.rate_id,
                    "name": t.tax.name,
                    "percentage": t.tax.percentage,
                    "inclusive": t.inclusive,
                    "taxable_base_minor": t.taxable_base_minor,
                    "amount_minor": t.amount_minor,
                }
            )
        if applied:
            credits.append(
                {
                    "organization_id": org_id,
                    "customer_id": sub.customer_id,
                    "currency": currency,
                    "amount_minor": -applied,
                    "kind": str(CreditLedgerEntry.Kind.APPLIED),
                    "description": (_("Applied to invoice %(number)s") % {"number": number})[:300],
                    "invoice_id": invoice_id,
                    "credit_note_id": None,
                    "subscription_id": None,
                    "created_at": now,
                }
            )
        # The same events, with the same payloads, as invoice_create_from_draft and
        # invoice_finalize: "created" describes the draft, "finalized" the issued invoice.
        base = {
            "invoice_id": invoice_id,
            "customer_id": sub.customer_id,
            "subscription_id": sub.pk,
            "currency": doc.currency,
            "total_minor": doc.total_minor,
            "collection_method": sub.collection_method,
        }
        event(
            "invoice.created",
            {**base, "number": None, "amount_due_minor": doc.total_minor, "status": "draft"},
            "billing.invoice",
            invoice_id,
        )
        final = {**base, "number": number, "amount_due_minor": amount_due, "status": row["status"]}
        event("invoice.finalized", final, "billing.invoice", invoice_id)
        if paid:
            event("invoice.paid", final, "billing.invoice", invoice_id)

    # Subscription events (after their invoice, as in the slow path) and final states.
    updates: list[tuple[_SubRow, SubscriptionSnapshot]] = []
    for sub, steps in plans:
        for plan in steps:
            after = plan.after
            payload = {
                "subscription_id": sub.pk,
                "customer_id": sub.customer_id,
                "price_id": after.price.id,
                "quantity": after.quantity,
                "status": after.status,
                "current_period_start": after.current_period_start.isoformat(),
                "current_period_end": after.current_period_end.isoformat(),
            }
            if id(plan) in invoice_of:
                payload["invoice_id"] = invoice_of[id(plan)]
            for event_type in plan.events:
                event(event_type, payload, "billing.subscription", sub.pk)
        updates.append((sub, steps[-1].after))
        stats.subscriptions += 1
        stats.periods += len(steps)
    stats.invoices = len(issued)

    # 5. Write: parents before children.
    _copy(Invoice, invoices)
    _copy(InvoiceLine, lines)
    _copy(InvoiceTax, taxes)
    _copy(CreditLedgerEntry, credits)
    _update_subscriptions(updates, now=now)
    _copy(OutboxEvent, events)
    if events and settings.COBRO_DISPATCH_ON_COMMIT:
        from cobro.events import _kick_dispatch

        transaction.on_commit(_kick_dispatch)
    return stats


def _credit_balances(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Credit available per (customer, currency). Customers with credit are locked first (in
    id order: no deadlock with another batch) and their balance read again under the lock,
    since consuming credit always happens under that lock."""
    if not keys:
        return {}
    customer_ids = {c for c, _cur in keys}

    def read(ids: Iterable[int]) -> dict[tuple[int, str], int]:
        rows = (
            CreditLedgerEntry.unscoped.filter(customer_id__in=list(ids))
            .values("customer_id", "currency")
            .annotate(total=Sum("amount_minor"))
        )
        return {(r["customer_id"], r["currency"]): int(r["total"] or 0) for r in rows}

    unlocked = read(customer_ids)
    with_credit = sorted({c for (c, cur), v in unlocked.items() if v > 0 and (c, cur) in keys})
    if not with_credit:
        return {}
    list(
        Customer.unscoped.select_for_update()
        .filter(pk__in=with_credit)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return {k: v for k, v in read(with_credit).items() if k in keys and v > 0}


def _take_numbers(organization: Organization, count: int) -> tuple[int, str, int]:
    """Reserve ``count`` consecutive invoice numbers (``document_number_next`` for a block):
    the sequence row stays locked until the caller's transaction ends, and a rollback gives
    the whole block back. Returns (first sequence number, prefix, padding)."""
    qs = DocumentSequence.unscoped.select_for_update().filter(
        organization=organization, doc_type=DocumentType.INVOICE
    )
    seq = qs.first()
    if seq is None:
        DocumentSequence.unscoped.bulk_create(
            [
                DocumentSequence(
                    organization=organization,
                    doc_type=DocumentType.INVOICE,
                    prefix=_prefix(organization, DocumentType.INVOICE),
                )
            ],
            ignore_conflicts=True,
        )
        seq = qs.get()
    first = seq.last_value + 1
    DocumentSequence.unscoped.filter(pk=seq.pk).update(last_value=seq.last_value + count)
    return first, seq.prefix, seq.padding


def _next_ids(model: type[models.Model], count: int) -> list[int]:
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [r[0] for r in cursor.fetchall()]


def _copy(model: type[models.Model], rows: list[dict]) -> None:
    """``COPY`` rows into ``model``'s table. Every row has the same keys (attnames); a
    missing ``id`` is left to the database."""
    if not rows:
        return
    opts = model._meta
    by_attname = {f.attname: str(f.column) for f in opts.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(by_attname[name]) for name in rows[0])
    names = list(rows[0])
    sql = f"COPY {opts.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


_SUB_COLUMNS: list[tuple[str, str]] = [
    ("status", "varchar"),
    ("price_id", "bigint"),
    ("quantity", "integer"),
    ("anchor_date", "date"),
    ("billing_anchor_day", "smallint"),
    ("current_period_start", "timestamptz"),
    ("current_period_end", "timestamptz"),
    ("period_index", "integer"),
    ("next_billing_at", "timestamptz"),
    ("trial_end", "timestamptz"),
    ("cancel_at_period_end", "boolean"),
    ("canceled_at", "timestamptz"),
    ("paused_at", "timestamptz"),
    ("resume_at", "timestamptz"),
    ("coupon_periods_used", "smallint"),
    ("pending_price_id", "bigint"),
    ("pending_quantity", "integer"),
    ("setup_fee_invoiced", "boolean"),
]


def _update_subscriptions(
    updates: list[tuple[_SubRow, SubscriptionSnapshot]], *, now: datetime
) -> None:
    """One ``UPDATE ... FROM unnest(...)`` writing each subscription's state after its last
    period (the fields ``_apply_snapshot`` writes, plus ``updated_at``)."""
    if not updates:
        return
    values: dict[str, list] = {name: [] for name, _t in _SUB_COLUMNS}
    ids = []
    for sub, snap in updates:
        ids.append(sub.pk)
        values["status"].append(snap.status)
        values["price_id"].append(snap.price.id)
        values["quantity"].append(snap.quantity)
        values["anchor_date"].append(snap.anchor_date)
        values["billing_anchor_day"].append(snap.anchor_day)
        values["current_period_start"].append(snap.current_period_start)
        values["current_period_end"].append(snap.current_period_end)
        values["period_index"].append(snap.period_index)
        values["next_billing_at"].append(snap.next_billing_at)
        values["trial_end"].append(snap.trial_end)
        values["cancel_at_period_end"].append(snap.cancel_at_period_end)
        values["canceled_at"].append(snap.canceled_at)
        values["paused_at"].append(snap.paused_at)
        values["resume_at"].append(snap.resume_at)
        values["coupon_periods_used"].append(snap.coupon_periods_used)
        values["pending_price_id"].append(snap.pending_price.id if snap.pending_price else None)
        values["pending_quantity"].append(snap.pending_quantity)
        values["setup_fee_invoiced"].append(snap.setup_fee_invoiced)
    sets = ", ".join(f"{name} = v.{name}" for name, _t in _SUB_COLUMNS)
    unnest = ", ".join(f"%s::{t}[]" for _n, t in _SUB_COLUMNS)
    names = ", ".join(name for name, _t in _SUB_COLUMNS)
    # Identifiers come from the constant _SUB_COLUMNS; every value is a bound parameter.
    sql = (
        f"UPDATE billing_subscription AS s SET {sets}, updated_at = %s "  # noqa: S608
        f"FROM unnest(%s::bigint[], {unnest}) AS v(id, {names}) WHERE s.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, ids, *(values[name] for name, _t in _SUB_COLUMNS)])
