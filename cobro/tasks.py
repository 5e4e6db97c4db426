"""Kernel tasks: outbox dispatch."""

from celery import shared_task

from cobro.events import events_dispatch_pending


@shared_task(name="cobro.events_dispatch", ignore_result=True)
def events_dispatch() -> int:
    return events_dispatch_pending()
