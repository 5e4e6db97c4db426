"""Billing tasks (queue ``billing``): the beat tick and the chunks it fans out. Thin: they
parse ids and times and call one service each."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from billing.services.billing_run import billing_run_chunk, billing_run_tick


@shared_task(name="billing.tick", ignore_result=True)
def billing_tick_task() -> int:
    """Every minute (beat): enqueue a chunk task per (organization, id range) with due
    subscriptions. Overlapping ticks are harmless (advisory lock, then unique constraint)."""
    return len(billing_run_tick())


@shared_task(
    name="billing.run_chunk",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def billing_run_chunk_task(*, organization_id: int, id_from: int, id_to: int, now: str) -> int:
    """Renew one chunk. Safe to run twice or concurrently: a repeat finds nothing due."""
    stats = billing_run_chunk(
        organization_id=organization_id,
        id_from=id_from,
        id_to=id_to,
        now=datetime.fromisoformat(now),
    )
    return stats.invoices


@shared_task(
    name="billing.run_requested",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def billing_run_requested_task(*, run_id: int) -> None:
    """A billing run staff asked for (``BillingRun``): "Run billing now" or a test-clock
    advance. Redelivered if the worker dies; a repeat continues where the last one stopped."""
    from billing.services.billing_runs import billing_run_execute

    billing_run_execute(run_id=run_id)
