"""Billing runs started by staff: "Run billing now" and the test-clock advance, in the
background with progress and a summary (``BillingRun``).

The request only writes a ``BillingRun`` row and enqueues ``billing.run_requested`` after
commit, so it never waits for the billing. The task does the work with the billing run's own
services (``billing_run_chunk``, ``test_clock_advance``), which are idempotent: a run that is
repeated, resumed after a killed worker, or overlaps the beat's tick renews each period once.

One run at a time per organization: a partial unique constraint on (organization) over
queued/running rows decides, so asking twice gets the run in progress.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import BillingRun
from billing.services.billing_run import RunStats, billing_run_chunk, billing_run_due_chunks
from billing.services.test_clock import test_clock_advance
from cobro import clock
from cobro.models import Organization
from cobro.services.audit import audit_record

logger = logging.getLogger(__name__)

# Subscriptions per progress step of a manual run: one fast-path batch, one transaction.
PROGRESS_CHUNK = 250
# A queued or running run whose worker has not reported for this long can be resumed.
STALE_AFTER = timedelta(minutes=5)


def billing_run_active(*, organization: Organization) -> BillingRun | None:
    return (
        BillingRun.unscoped.filter(organization=organization, status__in=BillingRun.ACTIVE)
        .order_by("-pk")
        .first()
    )


def billing_run_is_stale(run: BillingRun, *, now: datetime | None = None) -> bool:
    """A run in progress whose worker stopped reporting (killed, or its task was lost)."""
    if not run.is_active:
        return False
    last = run.heartbeat_at or run.created_at
    return last < (now or timezone.now()) - STALE_AFTER


def billing_run_start(
    *,
    organization: Organization,
    actor: Any,
    kind: str,
    target: datetime | None = None,
) -> tuple[BillingRun, bool]:
    """Queue a billing run of ``kind`` for ``organization`` unless one is in progress.

    Returns ``(run, started)``: the new run, or the one already queued or running (and
    False). A test-clock advance needs a sandbox organization and a ``target`` later than its
    clock. The task starts after the caller's transaction commits.
    """
    org = Organization.objects.get(pk=organization.pk)
    now = clock.now(org)
    if kind == BillingRun.Kind.TEST_CLOCK:
        if not org.is_sandbox:
            raise BillingError(
                BillingErrorCode.INVALID_TRANSITION,
                message=_("Only sandbox organizations have a test clock."),
            )
        if target is None or target.tzinfo is None:
            raise BillingError(BillingErrorCode.INVALID_DATE)
        if target <= now:
            raise BillingError(
                BillingErrorCode.INVALID_DATE, message=_("The test clock only moves forward.")
            )
    elif kind != BillingRun.Kind.MANUAL:
        raise ValueError(kind)
    active = billing_run_active(organization=org)
    if active is not None:
        return active, False
    try:
        with transaction.atomic():
            run = BillingRun.unscoped.create(
                organization=org,
                kind=kind,
                started_by=actor if getattr(actor, "pk", None) else None,
                now=now,
                target=target,
                position=now if kind == BillingRun.Kind.TEST_CLOCK else None,
                total=int((target - now).total_seconds()) if target else 0,
            )
            audit_record(
                organization=org,
                actor=actor,
                action="billing.run_started",
                target=run,
                changes={"kind": kind, "target": target.isoformat() if target else None},
            )
            _enqueue_after_commit(run.pk)
    except IntegrityError:  # another request queued one first
        active = billing_run_active(organization=org)
        if active is None:
            raise
        return active, False
    return run, True


def billing_run_resume(*, run: BillingRun, actor: Any) -> tuple[BillingRun, bool]:
    """Queue again a failed run, or one in progress whose worker stopped reporting. Returns
    ``(run, resumed)``; a run that is still alive or already finished is returned as is, and
    if another run is in progress that one is returned instead."""
    with transaction.atomic():
        locked = BillingRun.unscoped.select_for_update().get(pk=run.pk)
        if not (locked.status == BillingRun.Status.FAILED or billing_run_is_stale(locked)):
            return locked, False
        try:
            with transaction.atomic():
                locked.status = BillingRun.Status.QUEUED
                locked.error = ""
                locked.heartbeat_at = timezone.now()
                locked.finished_at = None
                locked.save(update_fields=["status", "error", "heartbeat_at", "finished_at"])
        except IntegrityError:
            active = billing_run_active(organization=locked.organization)
            return (active or locked), False
        audit_record(
            organization=locked.organization,
            actor=actor,
            action="billing.run_resumed",
            target=locked,
        )
        _enqueue_after_commit(locked.pk)
    return locked, True


def _enqueue_after_commit(run_id: int) -> None:
    from billing.tasks import billing_run_requested_task

    transaction.on_commit(
        lambda: billing_run_requested_task.apply_async(kwargs={"run_id": run_id}, queue="billing")
    )


def billing_run_execute(*, run_id: int) -> BillingRun | None:
    """Do the work of a queued (or interrupted) run, saving progress after every committed
    step. Safe to run again or concurrently: the renewals are exactly-once by themselves,
    and a finished run is returned as is. An error ends the run as failed (resumable)."""
    with transaction.atomic():
        run = (
            BillingRun.unscoped.select_for_update(of=("self",))
            .select_related("organization", "started_by")
            .filter(pk=run_id)
            .first()
        )
        if run is None or not run.is_active:
            return run
        now = timezone.now()
        run.status = BillingRun.Status.RUNNING
        run.attempts += 1
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
    try:
        if run.kind == BillingRun.Kind.TEST_CLOCK:
            _execute_test_clock(run)
        else:
            _execute_manual(run)
    except Exception as exc:
        logger.exception("billing run %s failed", run.pk)
        BillingRun.unscoped.filter(pk=run.pk).update(
            status=BillingRun.Status.FAILED,
            error=(getattr(exc, "message", None) or str(exc) or exc.__class__.__name__)[:300],
            finished_at=timezone.now(),
        )
    else:
        BillingRun.unscoped.filter(pk=run.pk, status=BillingRun.Status.RUNNING).update(
            status=BillingRun.Status.SUCCEEDED, finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run


def _record(run: BillingRun, stats: RunStats, *, done: int | None = None, **extra) -> None:
    """Add one committed step's figures to the run (atomic increments: a concurrent repeat of
    the same run adds its own work, never the same renewal twice)."""
    updates: dict[str, Any] = {
        "subscriptions_renewed": F("subscriptions_renewed") + stats.subscriptions,
        "invoices_issued": F("invoices_issued") + stats.invoices,
        "charges_enqueued": F("charges_enqueued") + stats.charges,
        "error_count": F("error_count") + len(stats.failed),
        "heartbeat_at": timezone.now(),
        **extra,
    }
    if done is not None:
        updates["done"] = done
    with transaction.atomic():
        BillingRun.unscoped.filter(pk=run.pk).update(**updates)
        if stats.failed:
            locked = BillingRun.unscoped.select_for_update().get(pk=run.pk)
            kept = list(locked.failed_subscriptions)
            kept.extend(s for s in stats.failed if s not in kept)
            locked.failed_subscriptions = kept[: BillingRun.MAX_FAILED_KEPT]
            locked.save(update_fields=["failed_subscriptions"])


def _execute_manual(run: BillingRun) -> None:
    """Renew what is due at ``run.now`` (the organization's clock) in chunks of
    ``PROGRESS_CHUNK`` subscriptions. A resumed run counts what is still due on top of what
    it already did."""
    chunks = billing_run_due_chunks(
        now=run.now, chunk_size=PROGRESS_CHUNK, organization_id=run.organization_id
    )
    done = run.done
    total = done + sum(c.due for c in chunks)
    BillingRun.unscoped.filter(pk=run.pk).update(total=total)
    for chunk in chunks:
        stats = billing_run_chunk(
            organization_id=chunk.organization_id,
            id_from=chunk.id_from,
            id_to=chunk.id_to,
            now=chunk.now,
        )
        done += chunk.due
        _record(run, stats, done=min(done, total))


def _execute_test_clock(run: BillingRun) -> None:
    """Advance the test clock to ``run.target`` step by step (``test_clock_advance``),
    reporting the instant billed after each step. Progress is clock time covered."""
    organization = Organization.objects.get(pk=run.organization_id)
    assert run.target is not None
    if clock.now(organization) >= run.target:  # an earlier attempt finished the advance
        BillingRun.unscoped.filter(pk=run.pk).update(position=run.target, done=run.total)
        return

    def on_step(at: datetime, stats: RunStats) -> None:
        covered = int((at - run.now).total_seconds())
        _record(run, stats, done=max(0, min(covered, run.total)), position=at)

    result = test_clock_advance(
        organization=organization, to=run.target, actor=run.started_by, on_step=on_step
    )
    covered = int((result.current - run.now).total_seconds())
    BillingRun.unscoped.filter(pk=run.pk).update(
        position=result.current, done=max(0, min(covered, run.total)), heartbeat_at=timezone.now()
    )
