"""Outbox event handlers: how feedback learns what happened in billing.

Handler names are stored in ``HandlerRun`` and must never change. Each handler is also
idempotent on its own (unique follow-up keys, survey ``subject_ref``s and snapshot event ids),
so a repeated delivery changes nothing."""

from __future__ import annotations

from cobro.events import register_handler
from cobro.models import OutboxEvent
from feedback.services import followups
from feedback.services.signals import plan_snapshot_record


@register_handler("invoice.paid", name="feedback.after_payment")
def on_invoice_paid(event: OutboxEvent) -> None:
    from billing.models import Invoice

    invoice = (
        Invoice.unscoped.select_related("customer__organization")
        .filter(pk=event.payload.get("invoice_id"), organization_id=event.organization_id)
        .first()
    )
    if invoice is not None:
        followups.on_invoice_paid(invoice=invoice)


@register_handler("subscription.canceled", name="feedback.cancellation_survey")
def on_subscription_canceled(event: OutboxEvent) -> None:
    from billing.models import Subscription

    sub = (
        Subscription.unscoped.select_related("customer__organization", "organization")
        .filter(pk=event.payload.get("subscription_id"), organization_id=event.organization_id)
        .first()
    )
    if sub is not None:
        followups.on_subscription_canceled(subscription=sub)


def on_subscription_changed(event: OutboxEvent) -> None:
    plan_snapshot_record(event=event)


for _type in (
    "subscription.created",
    "subscription.updated",
    "subscription.renewed",
    "subscription.resumed",
):
    register_handler(_type, name="feedback.plan_snapshot")(on_subscription_changed)
