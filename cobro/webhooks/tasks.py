"""Webhook tasks (notifications queue): send one delivery; sweep due retries; purge keys."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from cobro import clock
from cobro.webhooks.models import IdempotencyKey
from cobro.webhooks.services import webhook_deliveries_due, webhook_delivery_attempt


@shared_task(name="webhooks.deliver", ignore_result=True)
def webhooks_deliver(delivery_id: int) -> None:
    webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def webhooks_sweep() -> int:
    """Enqueue every due delivery (retries, and first attempts whose kick was lost)."""
    due = webhook_deliveries_due()
    for pk in due:
        webhooks_deliver.apply_async(args=(pk,), queue="notifications")
    return len(due)


@shared_task(name="webhooks.purge_idempotency_keys", ignore_result=True)
def webhooks_purge_idempotency_keys() -> int:
    cutoff = clock.now() - timedelta(hours=25)
    deleted, _ = IdempotencyKey.unscoped.filter(created_at__lt=cutoff).delete()
    return deleted
