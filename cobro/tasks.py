"""Kernel tasks: outbox dispatch."""

from celery import shared_task

from cobro.events import events_dispatch_pending


@shared_task(name="cobro.events_dispatch", ignore_result=True)
def events_dispatch() -> int:
    """Dispatch due outbox events. Kicked after commits and swept by beat every few seconds;
    overlapping runs are safe (rows are locked with SKIP LOCKED)."""
    return events_dispatch_pending()


@shared_task(name="cobro.list_export_run", ignore_result=True)
def list_export_run(job_id: str) -> None:
    """Write a large CSV export of a staff list in the background (progress in the cache)."""
    from cobro.exports import export_job_run

    export_job_run(job_id=job_id)
