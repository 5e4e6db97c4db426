"""Plan snapshots: remember each subscription's monthly amount after subscription events so a
lower amount than before (a downgrade) is a retention signal. Amounts in minor units."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from feedback.models import PlanSnapshot

# Months per interval unit, as exact fractions of a month (numerator, denominator).
_PER_MONTH = {"day": (365, 12), "week": (52, 12), "month": (1, 1), "year": (1, 12)}


def monthly_amount_minor(*, amount_minor: int, quantity: int, interval: str, count: int) -> int:
    """The recurring amount per month, rounded down (only compared, never charged)."""
    num, den = _PER_MONTH.get(interval, (1, 1))
    return (amount_minor * quantity * num) // (den * max(count, 1))


def plan_snapshot_record(*, event) -> PlanSnapshot | None:
    """Record the subscription's amount after ``event`` (idempotent per event; a renewal is
    recorded only when the amount changed)."""
    from billing.models import Price, Subscription

    payload = event.payload or {}
    if not payload.get("subscription_id") or not payload.get("price_id"):
        return None
    sub = (
        Subscription.unscoped.filter(
            pk=int(payload["subscription_id"]), organization_id=event.organization_id
        )
        .only("pk", "customer_id", "organization_id")
        .first()
    )
    price = Price.unscoped.filter(
        pk=int(payload["price_id"]), organization_id=event.organization_id
    ).first()
    if sub is None or price is None:
        return None
    amount = monthly_amount_minor(
        amount_minor=price.amount_minor,
        quantity=int(payload.get("quantity") or 1),
        interval=price.interval,
        count=price.interval_count,
    )
    if PlanSnapshot.unscoped.filter(
        organization_id=event.organization_id, event_id=event.pk
    ).exists():
        return None  # this event was already recorded
    snapshots = PlanSnapshot.unscoped.filter(subscription_id=sub.pk)
    last = snapshots.filter(created_at__lte=event.created_at).order_by("-created_at", "-pk").first()
    unchanged = (
        last is not None and last.monthly_amount_minor == amount and last.currency == price.currency
    )
    if unchanged and event.type == "subscription.renewed":
        return None  # renewals only matter when a scheduled change took effect
    previous = last.monthly_amount_minor if last and last.currency == price.currency else None
    try:
        with transaction.atomic():
            snapshot = PlanSnapshot.unscoped.create(
                organization_id=event.organization_id,
                subscription_id=sub.pk,
                customer_id=sub.customer_id,
                event_id=event.pk,
                monthly_amount_minor=amount,
                previous_amount_minor=previous,
                currency=price.currency,
                created_at=event.created_at,
            )
            # Events may be dispatched out of order: the snapshot right after this one now
            # follows it.
            following = (
                snapshots.filter(created_at__gt=event.created_at, currency=price.currency)
                .order_by("created_at", "pk")
                .first()
            )
            if following is not None:
                following.previous_amount_minor = amount
                following.save(update_fields=["previous_amount_minor"])
    except IntegrityError:
        return None
    return snapshot
