"""Emit domain events to the outbox and dispatch them to registered handlers.

Emitting happens inside the caller's transaction (``event_emit`` refuses to run outside one),
so an event exists if and only if its change committed. Dispatch is at least once: a handler
may see an event again after a crash, so each handler's database effect is committed together
with a ``HandlerRun`` row whose unique (event, handler) pair turns a repeat into a no-op.
Handlers with outside effects (email, gateway calls) use their own idempotency keys.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from cobro import clock
from cobro.models import HandlerRun, Organization, OutboxEvent
from cobro.tenancy.context import use_organization

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[tuple[str, Handler]]] = defaultdict(list)


def register_handler(event_type: str, *, name: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` for ``event_type`` (``"*"`` for all). ``name`` must be stable forever:
    it is stored in ``HandlerRun`` to remember what has been done."""

    def decorator(fn: Handler) -> Handler:
        entries = _handlers[event_type]
        if all(existing != name for existing, _ in entries):
            entries.append((name, fn))
        return fn

    return decorator


def handlers_for(event_type: str) -> list[tuple[str, Handler]]:
    return [*_handlers.get(event_type, []), *_handlers.get("*", [])]


def event_emit(
    *,
    organization: Organization,
    type: str,
    payload: dict[str, Any] | None = None,
    subject: Any = None,
) -> OutboxEvent:
    """Write an event to the outbox in the current transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("event_emit must run inside transaction.atomic() with its change")
    event = OutboxEvent.unscoped.create(
        organization=organization,
        type=type,
        payload=payload or {},
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        created_at=clock.now(organization),
        next_attempt_at=clock.now(),
    )
    if settings.COBRO_DISPATCH_ON_COMMIT:
        transaction.on_commit(_kick_dispatch)
    return event


def _kick_dispatch() -> None:
    """Ask a worker to dispatch soon; beat also sweeps, so a lost kick only adds latency."""
    try:
        from cobro.tasks import events_dispatch

        events_dispatch.delay()
    except Exception:  # the broker being down must never undo a committed change
        logger.warning("could not enqueue outbox dispatch; beat will pick it up", exc_info=True)


# Retry policy of a failing event: 5 s, 10 s, 20 s, ... capped at one hour, then given up after
# MAX_ATTEMPTS (it stays in the outbox with its last error for an operator to look at).
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 3600
MAX_ATTEMPTS = 25


def retry_delay(attempts: int) -> timedelta:
    """Backoff before the next try of an event that has failed ``attempts`` times (>= 1)."""
    seconds = RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, RETRY_MAX_SECONDS))


def event_dispatch_one(event: OutboxEvent) -> bool:
    """Run every handler that has not yet processed ``event``. True when all succeeded.

    Each handler runs in its own savepoint together with the ``HandlerRun`` row that claims
    it: if the handler fails, its effect and its claim roll back together (so it runs again
    on the next try); if another dispatcher already claimed it, the unique pair makes this
    claim fail and the handler is skipped, so its database effect happens once.
    """
    ok = True
    done = set(HandlerRun.objects.filter(event=event).values_list("handler", flat=True))
    with use_organization(event.organization):
        for name, fn in handlers_for(event.type):
            if name in done:
                continue
            try:
                with transaction.atomic():
                    try:
                        with transaction.atomic():
                            HandlerRun.objects.create(
                                event=event, handler=name, completed_at=clock.now()
                            )
                    except IntegrityError:
                        continue  # claimed (and committed) by a concurrent dispatcher
                    fn(event)
            except Exception as exc:
                ok = False
                logger.exception("handler %s failed for event %s", name, event.pk)
                OutboxEvent.unscoped.filter(pk=event.pk).update(
                    last_error=f"{name}: {exc!r}"[:2000]
                )
    return ok


def events_dispatch_pending(*, limit: int = 500) -> int:
    """Dispatch up to ``limit`` due events, oldest first. Returns how many completed.

    Each event is locked with ``FOR UPDATE SKIP LOCKED`` (its row only, not its organization)
    so several dispatchers share the work without processing one event concurrently. A
    failed event is pushed back with exponential backoff, so a poison event costs one try
    per backoff period instead of spinning the dispatcher.
    """
    completed = 0
    for _ in range(limit):
        now = clock.now()
        with transaction.atomic():
            event = (
                OutboxEvent.unscoped.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization")
                .filter(
                    dispatched_at__isnull=True,
                    next_attempt_at__lte=now,
                    attempts__lt=MAX_ATTEMPTS,
                )
                .order_by("next_attempt_at", "created_at")
                .first()
            )
            if event is None:
                break
            attempts = event.attempts + 1
            if event_dispatch_one(event):
                OutboxEvent.unscoped.filter(pk=event.pk).update(
                    attempts=attempts, dispatched_at=clock.now()
                )
                completed += 1
            else:
                OutboxEvent.unscoped.filter(pk=event.pk).update(
                    attempts=attempts, next_attempt_at=now + retry_delay(attempts)
                )
    return completed
