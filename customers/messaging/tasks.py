"""Notifications queue: send one message; retry transient failures with backoff."""

from __future__ import annotations

from celery import shared_task

from customers.messaging.channels import TransientSendError
from customers.messaging.services import message_send

MAX_RETRIES = 6


@shared_task(
    bind=True,
    name="messaging.send",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(TransientSendError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def messaging_send(self, message_id: int) -> None:
    message_send(message_id=message_id, final_attempt=self.request.retries >= MAX_RETRIES)
