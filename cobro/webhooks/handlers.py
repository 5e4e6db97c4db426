"""The outbox handler: every domain event becomes one delivery per interested endpoint."""

from __future__ import annotations

from cobro.events import register_handler
from cobro.models import OutboxEvent
from cobro.webhooks.services import webhook_deliveries_enqueue, webhook_deliveries_fanout


@register_handler("*", name="webhooks.fanout")
def on_any_event(event: OutboxEvent) -> None:
    webhook_deliveries_enqueue(webhook_deliveries_fanout(event))
