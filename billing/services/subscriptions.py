"""Subscription services. Each one locks the subscription (``select_for_update``), builds a
plan with the pure planners of ``billing.planning``, then persists it: status (checked against
``SUBSCRIPTION_TRANSITIONS``), invoice, credit, outbox events. Previews run the same planners
and write nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db import IntegrityError, transaction

from billing.currencies import validate_currency
from billing.error_codes import BillingError, BillingErrorCode
from billing.models import (
    SUBSCRIPTION_TRANSITIONS,
    BillingReason,
    CollectionMethod,
    Coupon,
    CreditLedgerEntry,
    Invoice,
    Price,
    Subscription,
    SubscriptionStatus,
)
from billing.planning import (
    CouponInfo,
    Plan,
    PriceInfo,
    SubscriptionSnapshot,
    plan_cancel,
    plan_change,
    plan_renewal,
    plan_start,
    preview_renewals,
)
from billing.renewal_discounts import renewal_discounts_for
from billing.services.catalog import coupon_check, coupon_redeem
from billing.services.credit import credit_ledger_add, customer_credit_balance
from billing.services.invoices import invoice_create_from_draft, invoice_finalize
from cobro import clock
from cobro.events import event_emit

St = SubscriptionStatus


def _price_info(price: Price | None) -> PriceInfo | None:
    return PriceInfo.from_model(price) if price is not None else None


def subscription_snapshot(sub: Subscription) -> SubscriptionSnapshot:
    """A plain copy of ``sub`` for the pure planners."""
    price = _price_info(sub.price)
    assert price is not None
    return SubscriptionSnapshot(
        status=sub.status,
        price=price,
        quantity=sub.quantity,
        time_zone=sub.organization.time_zone,
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
        coupon=CouponInfo.from_model(sub.coupon) if sub.coupon_id else None,
        coupon_periods_used=sub.coupon_periods_used,
        pending_price=_price_info(sub.pending_price),
        pending_quantity=sub.pending_quantity,
        setup_fee_invoiced=sub.setup_fee_invoiced,
    )


def _apply_snapshot(sub: Subscription, snap: SubscriptionSnapshot) -> None:
    sub.status = snap.status
    sub.price_id = snap.price.id  # type: ignore[assignment]
    sub.quantity = snap.quantity
    sub.anchor_date = snap.anchor_date
    sub.billing_anchor_day = snap.anchor_day
    sub.current_period_start = snap.current_period_start
    sub.current_period_end = snap.current_period_end
    sub.period_index = snap.period_index
    sub.next_billing_at = snap.next_billing_at
    sub.trial_end = snap.trial_end
    sub.cancel_at_period_end = snap.cancel_at_period_end
    sub.canceled_at = snap.canceled_at
    sub.paused_at = snap.paused_at
    sub.resume_at = snap.resume_at
    sub.coupon_periods_used = snap.coupon_periods_used
    sub.pending_price_id = snap.pending_price.id if snap.pending_price else None
    sub.pending_quantity = snap.pending_quantity
    sub.setup_fee_invoiced = snap.setup_fee_invoiced


_RELATED = (
    "organization",
    "customer",
    "price__product",
    "price__tax_rate",
    "pending_price__product",
    "pending_price__tax_rate",
    "coupon",
)


def _lock(subscription: Subscription, *, skip_locked: bool = False) -> Subscription | None:
    # ``of=("self",)``: lock only the subscription row, not the joined price/customer rows.
    return (
        Subscription.unscoped.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related(*_RELATED)
        .filter(pk=subscription.pk)
        .first()
    )


def _check_transition(current: str, target: str) -> None:
    if target != current and target not in SUBSCRIPTION_TRANSITIONS[current]:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=current, requested=target)


def _payload(sub: Subscription, **extra) -> dict:
    return {
        "subscription_id": sub.pk,
        "customer_id": sub.customer_id,
        "price_id": sub.price_id,
        "quantity": sub.quantity,
        "status": sub.status,
        "current_period_start": sub.current_period_start.isoformat(),
        "current_period_end": sub.current_period_end.isoformat(),
        **extra,
    }


def _persist(
    sub: Subscription,
    plan: Plan,
    *,
    now: datetime,
    billing_reason: str,
    credit_kind: str = CreditLedgerEntry.Kind.PRORATION,
    event_extra: dict | None = None,
) -> Invoice | None:
    """Write ``plan``: status change (checked), invoice (finalized), credit, events (their
    payloads carry ``event_extra``)."""
    _check_transition(plan.before.status, plan.after.status)
    invoice = None
    doc = plan.document
    if doc is not None and doc.total_minor >= 0 and doc.lines:
        invoice = invoice_create_from_draft(
            customer=sub.customer,
            document=doc,
            billing_reason=billing_reason,
            now=now,
            subscription=sub,
            period_start=plan.period_start,
            period_end=plan.period_end,
            collection_method=sub.collection_method,
        )
        invoice = invoice_finalize(invoice=invoice, now=now)
    if plan.credit_minor > 0:
        credit_ledger_add(
            customer=sub.customer,
            currency=plan.after.currency,
            amount_minor=plan.credit_minor,
            kind=credit_kind,
            now=now,
            description=doc.lines[0].description if doc and doc.lines else "",
            subscription=sub,
        )
    _apply_snapshot(sub, plan.after)
    sub.updated_at = now
    sub.save()
    for event_type in plan.events:
        extra = dict(event_extra or {})
        if invoice is not None:
            extra["invoice_id"] = invoice.pk
        if plan.credit_minor:
            extra["credit_minor"] = plan.credit_minor
        event_emit(
            organization=sub.organization,
            type=event_type,
            payload=_payload(sub, **extra),
            subject=sub,
        )
    return invoice


# -- create ----------------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    customer,
    price: Price,
    quantity: int = 1,
    start_at: datetime | None = None,
    trial_days: int | None = None,
    anchor_day: int | None = None,
    coupon: Coupon | None = None,
    collection_method: str = CollectionMethod.CHARGE_AUTOMATICALLY,
    days_until_due: int | None = None,
    now: datetime | None = None,
    incomplete: bool = False,
    payment_method=None,
) -> Subscription:
    """Start a subscription. Without a trial the first period is invoiced (and finalized) at
    once; with one (``trial_days`` defaults to the price's) the trial ends into the first
    invoice. ``anchor_day`` (1-31) fixes the day of month billing happens on.

    ``incomplete`` (self-service checkout): when the first invoice has something to pay, the
    subscription starts ``incomplete`` and becomes ``active`` only once that invoice is paid
    (``subscription_transition``); with a trial or nothing due it starts as usual.

    ``payment_method``: a card of the customer's to charge this subscription with instead of
    their default (``Subscription.payment_method``)."""
    org = customer.organization
    now = now or clock.now(org)
    start_at = start_at or now
    if anchor_day is not None and (
        isinstance(anchor_day, bool) or not isinstance(anchor_day, int) or not 1 <= anchor_day <= 31
    ):
        raise BillingError(BillingErrorCode.INVALID_ANCHOR_DAY, anchor_day=anchor_day)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise BillingError(BillingErrorCode.INVALID_QUANTITY)
    if start_at.tzinfo is None:
        raise BillingError(BillingErrorCode.INVALID_DATE)
    if price.organization_id != org.pk or not price.active:
        raise BillingError(BillingErrorCode.PRICE_ARCHIVED)
    currency = validate_currency(org, price.currency)
    trial = price.trial_days if trial_days is None else trial_days
    if not 0 <= trial <= 730:
        raise BillingError(BillingErrorCode.INVALID_TRIAL)
    if collection_method not in CollectionMethod.values:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION)
    if coupon is not None:
        if coupon.organization_id != org.pk:
            raise BillingError(BillingErrorCode.COUPON_INVALID)
        coupon_check(coupon=coupon, currency=currency, now=now)
    if payment_method is not None and payment_method.customer_id != customer.pk:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION)
    price = Price.unscoped.select_related("product", "tax_rate").get(pk=price.pk)
    plan = plan_start(
        price=PriceInfo.from_model(price),
        quantity=quantity,
        time_zone=org.time_zone,
        start_at=start_at,
        trial_days=trial,
        anchor_day=anchor_day,
        coupon=CouponInfo.from_model(coupon) if coupon else None,
    )
    if incomplete and plan.document is not None and plan.document.amount_due_minor > 0:
        plan = replace(
            plan,
            before=replace(plan.before, status=St.INCOMPLETE),
            after=replace(plan.after, status=St.INCOMPLETE),
        )
    snap = plan.after
    sub = Subscription(
        organization=org,
        customer=customer,
        price=price,
        quantity=quantity,
        status=snap.status,
        currency=currency,
        started_at=start_at,
        billing_anchor_day=snap.anchor_day,
        anchor_date=snap.anchor_date,
        period_index=snap.period_index,
        current_period_start=snap.current_period_start,
        current_period_end=snap.current_period_end,
        collection_method=collection_method,
        days_until_due=(
            days_until_due
            if days_until_due is not None
            else (30 if collection_method == CollectionMethod.SEND_INVOICE else 0)
        ),
        coupon=coupon,
        payment_method=payment_method,
        created_at=now,
        updated_at=now,
    )
    _apply_snapshot(sub, snap)
    sub.save()
    if coupon is not None:
        coupon_redeem(coupon=coupon, currency=currency, now=now)
    # Persist the first invoice and the created event (status unchanged: new row).
    _persist(sub, plan, now=now, billing_reason=BillingReason.SUBSCRIPTION_CREATE)
    return sub


# -- status changes --------------------------------------------------------------------------


def _locked_or_raise(subscription: Subscription) -> Subscription:
    sub = _lock(subscription)
    if sub is None:
        raise Subscription.DoesNotExist
    return sub


@transaction.atomic
def subscription_transition(
    *, subscription: Subscription, to: str, now: datetime | None = None
) -> Subscription:
    """Plain status change for payments and dunning (active <-> past_due -> unpaid,
    incomplete -> active). Pause, resume and cancel have their own services."""
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    _check_transition(sub.status, to)
    if to == sub.status or to in (St.PAUSED, St.CANCELED):
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status, requested=to)
    previous = sub.status
    sub.status = to
    sub.updated_at = now
    sub.save(update_fields=["status", "updated_at"])
    event_emit(
        organization=sub.organization,
        type="subscription.updated",
        payload=_payload(sub, previous_status=previous),
        subject=sub,
    )
    return sub


@transaction.atomic
def subscription_payment_method_set(
    *, subscription: Subscription, method, now: datetime | None = None
) -> Subscription:
    """Charge ``subscription`` with ``method`` (a method of its customer) instead of the
    customer's default; ``None`` goes back to the default."""
    sub = _locked_or_raise(subscription)
    if method is not None and method.customer_id != sub.customer_id:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION)
    sub.payment_method = method
    sub.updated_at = now or clock.now(sub.organization)
    sub.save(update_fields=["payment_method", "updated_at"])
    return sub


@transaction.atomic
def subscription_pause(
    *, subscription: Subscription, resume_at: datetime | None = None, now: datetime | None = None
) -> Subscription:
    """Pause billing until ``resume_at`` (None: indefinitely). No invoices while paused; see
    the resume rule in ``billing.planning``."""
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    _check_transition(sub.status, St.PAUSED)
    if sub.status == St.PAUSED:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    if sub.cancel_at_period_end:
        # A scheduled cancellation and a pause contradict each other: undo the cancellation
        # first.
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    if resume_at is not None and (resume_at.tzinfo is None or resume_at <= now):
        raise BillingError(BillingErrorCode.INVALID_DATE)
    sub.status = St.PAUSED
    sub.paused_at = now
    sub.resume_at = resume_at
    sub.next_billing_at = resume_at
    sub.updated_at = now
    sub.save()
    event_emit(
        organization=sub.organization,
        type="subscription.paused",
        payload=_payload(sub, resume_at=resume_at.isoformat() if resume_at else None),
        subject=sub,
    )
    return sub


@transaction.atomic
def subscription_resume(*, subscription: Subscription, now: datetime | None = None) -> Subscription:
    """Resume a paused subscription now; if its paid period is over, the new period starts
    today and is invoiced at once (the anchor moves to today)."""
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    if sub.status != St.PAUSED:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    snap = subscription_snapshot(sub)
    from billing.planning import apply_resume

    after = apply_resume(snap, at=now)
    _persist(
        sub,
        Plan(before=snap, after=after, events=("subscription.resumed",)),
        now=now,
        billing_reason=BillingReason.SUBSCRIPTION_CYCLE,
    )
    if sub.next_billing_at is not None and sub.next_billing_at <= now:
        _renew_locked(sub, now=now)
    return sub


@transaction.atomic
def subscription_cancel(
    *,
    subscription: Subscription,
    at_period_end: bool = False,
    prorated_credit: bool = False,
    now: datetime | None = None,
) -> Subscription:
    """Cancel now (optionally crediting the unused share of the paid period to the customer's
    balance) or at the end of the current period (undo with ``subscription_undo_cancel``)."""
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    _check_transition(sub.status, St.CANCELED)
    if sub.status == St.CANCELED:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    if at_period_end and sub.status not in (St.ACTIVE, St.TRIALING, St.PAST_DUE):
        # Only a subscription that renews has a period end to cancel at.
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    if at_period_end and sub.cancel_at_period_end:
        raise BillingError(BillingErrorCode.NOTHING_TO_CHANGE)
    plan = plan_cancel(
        subscription_snapshot(sub),
        at=now,
        at_period_end=at_period_end,
        prorated_credit=prorated_credit,
    )
    _persist(
        sub,
        plan,
        now=now,
        billing_reason=BillingReason.SUBSCRIPTION_UPDATE,
        credit_kind=CreditLedgerEntry.Kind.CANCELLATION,
    )
    return sub


@transaction.atomic
def subscription_undo_cancel(
    *, subscription: Subscription, now: datetime | None = None
) -> Subscription:
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    if sub.status == St.CANCELED or not sub.cancel_at_period_end:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    sub.cancel_at_period_end = False
    sub.updated_at = now
    sub.save(update_fields=["cancel_at_period_end", "updated_at"])
    event_emit(
        organization=sub.organization,
        type="subscription.updated",
        payload=_payload(sub, cancel_at_period_end=False),
        subject=sub,
    )
    return sub


# -- plan changes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeResult:
    plan: Plan
    invoice: Invoice | None = None


def _plan_change(
    sub: Subscription,
    *,
    price: Price | None,
    quantity: int | None,
    when: str,
    prorate: bool,
    now: datetime,
) -> Plan:
    """Validate and plan a change; shared by the real change and its preview."""
    if sub.status not in (St.ACTIVE, St.TRIALING, St.PAST_DUE):
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    if when not in ("now", "next_period"):
        raise BillingError(BillingErrorCode.INVALID_DATE)
    new_price = sub.price if price is None else price
    new_quantity = sub.quantity if quantity is None else quantity
    if isinstance(new_quantity, bool) or not isinstance(new_quantity, int) or new_quantity < 1:
        raise BillingError(BillingErrorCode.INVALID_QUANTITY)
    if new_price.organization_id != sub.organization_id:
        raise BillingError(BillingErrorCode.PRICE_ARCHIVED)
    if new_price.pk != sub.price_id and not new_price.active:
        raise BillingError(BillingErrorCode.PRICE_ARCHIVED)
    if new_price.currency != sub.currency:
        raise BillingError(
            BillingErrorCode.CURRENCY_MISMATCH, current=sub.currency, requested=new_price.currency
        )
    if new_price.pk == sub.price_id and new_quantity == sub.quantity:
        raise BillingError(BillingErrorCode.NOTHING_TO_CHANGE)
    interval_changes = (new_price.interval, new_price.interval_count) != (
        sub.price.interval,
        sub.price.interval_count,
    )
    if interval_changes and when == "now" and sub.status != St.TRIALING:
        raise BillingError(
            BillingErrorCode.INVALID_INTERVAL,
            message=None,
            detail="a different billing interval takes effect at the next period",
        )
    new_price = Price.unscoped.select_related("product", "tax_rate").get(pk=new_price.pk)
    return plan_change(
        subscription_snapshot(sub),
        new_price=PriceInfo.from_model(new_price),
        new_quantity=new_quantity,
        at=now,
        prorate_now=prorate,
        next_period=when == "next_period",
    )


@transaction.atomic
def subscription_change(
    *,
    subscription: Subscription,
    price: Price | None = None,
    quantity: int | None = None,
    when: str = "now",
    prorate: bool = True,
    now: datetime | None = None,
) -> ChangeResult:
    """Change price and/or quantity ``now`` (with proration: an invoice for a net charge, a
    credit to the balance for a net credit) or at the ``next_period``. Another currency is
    an error and nothing is written."""
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    plan = _plan_change(sub, price=price, quantity=quantity, when=when, prorate=prorate, now=now)
    # Consumers (the "plan changed" email, webhooks) tell a plan change from other updates
    # by this marker and see what it was before.
    change = {
        "change": "plan",
        "previous_price_id": sub.price_id,
        "previous_quantity": sub.quantity,
        "new_price_id": (price or sub.price).pk,
        "new_quantity": sub.quantity if quantity is None else quantity,
        "effective": when,
    }
    invoice = _persist(
        sub,
        plan,
        now=now,
        billing_reason=BillingReason.SUBSCRIPTION_UPDATE,
        event_extra=change,
    )
    return ChangeResult(plan=plan, invoice=invoice)


def subscription_preview_change(
    *,
    subscription: Subscription,
    price: Price | None = None,
    quantity: int | None = None,
    when: str = "now",
    prorate: bool = True,
    now: datetime | None = None,
) -> Plan:
    """Exactly what ``subscription_change`` would do, without writing anything."""
    sub = Subscription.unscoped.select_related(*_RELATED).get(pk=subscription.pk)
    now = now or clock.now(sub.organization)
    return _plan_change(sub, price=price, quantity=quantity, when=when, prorate=prorate, now=now)


def subscription_migrate_price(
    *, subscription: Subscription, price: Price, now: datetime | None = None
) -> ChangeResult:
    """Move a subscription to another (typically newer) version of its price, from the next
    period on, on purpose: price versioning never moves subscriptions by itself."""
    return subscription_change(
        subscription=subscription, price=price, when="next_period", prorate=False, now=now
    )


# -- renewal ---------------------------------------------------------------------------------


def _renew_locked(sub: Subscription, *, now: datetime) -> Invoice | None:
    snap = subscription_snapshot(sub)
    plan = plan_renewal(snap, now=now)
    if not plan.changed:
        return None
    if plan.document is None:
        _persist(sub, plan, now=now, billing_reason=BillingReason.SUBSCRIPTION_CYCLE)
        return None
    # Discounts of higher layers (loyalty tiers, rewards): plan again with them.
    discounts = (
        renewal_discounts_for(subscription=sub, period_start=plan.period_start)
        if plan.period_start is not None
        else []
    )
    if discounts:
        snap = replace(snap, extra_discounts=tuple(d.spec for d in discounts))
        plan = plan_renewal(snap, now=now)
    try:
        with transaction.atomic():
            invoice = _persist(sub, plan, now=now, billing_reason=BillingReason.SUBSCRIPTION_CYCLE)
            if invoice is not None:
                for discount in discounts:
                    if discount.on_applied is not None:
                        discount.on_applied(invoice)
            return invoice
    except IntegrityError:
        # The (subscription, period_start) invoice exists: this period is already billed.
        return None


def subscription_renew(*, subscription: Subscription, now: datetime) -> Invoice | None:
    """Bill the next period of ONE subscription if it is due at ``now`` (at most one period
    per call; call again while ``next_billing_at <= now`` to catch up in order).

    Locks the row with SKIP LOCKED: a subscription another worker is renewing is skipped.
    Handles resume-at, cancel-at-period-end, trial end (into the first invoice), pending
    changes and coupon durations. Returns the finalized invoice or None."""
    with transaction.atomic():
        sub = _lock(subscription, skip_locked=True)
        if sub is None:
            return None
        return _renew_locked(sub, now=now)


@transaction.atomic
def subscription_coupon_apply(
    *, subscription: Subscription, coupon: Coupon, now: datetime | None = None
) -> Subscription:
    """Attach ``coupon`` to a live subscription (a retention offer, a goodwill gesture): it
    discounts the invoices from the next renewal on, for the coupon's duration, and counts as
    one redemption. It replaces a coupon the subscription had; the same coupon again is
    ``nothing_to_change``. A coupon of another organization, inactive, expired, exhausted or
    in another currency is refused and nothing changes."""
    sub = _locked_or_raise(subscription)
    now = now or clock.now(sub.organization)
    if sub.status not in (St.ACTIVE, St.TRIALING, St.PAST_DUE):
        raise BillingError(BillingErrorCode.INVALID_TRANSITION, current=sub.status)
    if coupon.organization_id != sub.organization_id:
        raise BillingError(BillingErrorCode.COUPON_INVALID)
    if sub.coupon_id == coupon.pk:
        raise BillingError(BillingErrorCode.NOTHING_TO_CHANGE)
    coupon_redeem(coupon=coupon, currency=sub.currency, now=now)
    previous = sub.coupon_id
    sub.coupon = coupon
    sub.coupon_periods_used = 0
    sub.updated_at = now
    sub.save(update_fields=["coupon", "coupon_periods_used", "updated_at"])
    event_emit(
        organization=sub.organization,
        type="subscription.updated",
        payload=_payload(sub, change="coupon", coupon_id=coupon.pk, previous_coupon_id=previous),
        subject=sub,
    )
    return sub


def subscription_preview_invoices(*, subscription: Subscription, count: int) -> list[Plan]:
    """Dry run of the next ``count`` invoices through the same planner, writing nothing."""
    sub = Subscription.unscoped.select_related(*_RELATED).get(pk=subscription.pk)
    return preview_renewals(subscription_snapshot(sub), count=count)


def customer_balance(*, customer, currency: str) -> int:
    return customer_credit_balance(customer=customer, currency=currency)
