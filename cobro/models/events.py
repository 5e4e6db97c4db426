"""Domain events: the outbox and the record of which handler has processed which event."""

from __future__ import annotations

import uuid

from django.db import models

from cobro.models.base import TenantModel


class OutboxEvent(TenantModel):
    """A domain event written in the same transaction as the change it describes.

    A worker dispatches it to every registered handler at least once; ``HandlerRun`` rows make
    each handler's database effect happen once even when the event is delivered twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Failed deliveries wait here (exponential backoff) so one poison event cannot keep the
    # dispatcher spinning; ``attempts`` counts tries, ``last_error`` explains the latest.
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "created_at"],
                name="outbox_due_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            # The staff events list (newest first, deep pages) and its type filter: the
            # tie-break on id is in the index, so a page is an index walk, never a sort.
            models.Index(fields=["organization", "created_at", "id"], name="outbox_org_created"),
            models.Index(
                fields=["organization", "type", "created_at", "id"], name="outbox_org_type_created"
            ),
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class HandlerRun(models.Model):
    """One handler has processed one event. The unique pair is the idempotency fact."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="handler_runs")
    handler = models.CharField(max_length=128)
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "handler"], name="handlerrun_unique_event_handler"
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler} <- {self.event_id}"
