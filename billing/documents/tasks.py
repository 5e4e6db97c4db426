"""Documents queue: render issued documents to PDF."""

from __future__ import annotations

from celery import shared_task

from billing.documents.services import DocumentNotIssued, document_render


@shared_task(name="documents.render", ignore_result=True, acks_late=True)
def documents_render(kind: str, object_id: int) -> None:
    try:
        document_render(kind=kind, object_id=object_id)
    except DocumentNotIssued:
        return  # a draft or a deleted id: nothing to render


@shared_task(name="messaging.billing_reminders", ignore_result=True)
def messaging_billing_reminders() -> int:
    """Hourly: upcoming-charge and trial-ending reminders (billing data, notifications queue)."""
    from billing.documents.notifications import billing_reminders_queue

    return billing_reminders_queue()
