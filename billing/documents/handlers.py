"""Outbox handlers: an issued document is rendered on the documents queue after commit."""

from __future__ import annotations

import logging

from django.db import transaction

from billing.documents.models import DocumentKind
from cobro.events import register_handler
from cobro.models import OutboxEvent

logger = logging.getLogger(__name__)


def _enqueue_render(kind: str, object_id: int) -> None:
    from billing.documents.tasks import documents_render

    def send() -> None:
        try:
            documents_render.apply_async(args=(kind, object_id), queue="documents")
        except Exception:
            # The broker being down must not fail the handler: the email path renders on
            # demand (still once) and staff downloads do too.
            logger.warning("could not enqueue render of %s %s", kind, object_id, exc_info=True)

    transaction.on_commit(send)


@register_handler("invoice.finalized", name="documents.render_invoice")
def on_invoice_finalized(event: OutboxEvent) -> None:
    _enqueue_render(DocumentKind.INVOICE, int(event.payload["invoice_id"]))


@register_handler("invoice.paid", name="documents.render_receipt")
def on_invoice_paid(event: OutboxEvent) -> None:
    _enqueue_render(DocumentKind.RECEIPT, int(event.payload["invoice_id"]))


@register_handler("credit_note.issued", name="documents.render_credit_note")
def on_credit_note_issued(event: OutboxEvent) -> None:
    object_id = event.payload.get("credit_note_id") or event.subject_id
    _enqueue_render(DocumentKind.CREDIT_NOTE, int(object_id))
