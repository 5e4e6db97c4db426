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


def event_dispatch_one(event: OutboxEvent) -> bool:
    """Run every handler that has not yet processed ``event``. True when all succeeded."""
    ok = True
    done = set(HandlerRun.objects.filter(event=event).values_list("handler", flat=True))
    with use_organization(event.organization):
        for name, fn in handlers_for(event.type):
            if name in done:
                continue
            try:
                with transaction.atomic():
                    # Claim first: a concurrent dispatcher's claim makes this one fail and
                    # roll back, so the effect runs once.
                    HandlerRun.objects.create(event=event, handler=name, completed_at=clock.now())
                    fn(event)
            except IntegrityError:
                continue
            except Exception as exc:
                ok = False
                logger.exception("handler %s failed for event %s", name, event.pk)
                OutboxEvent.unscoped.filter(pk=event.pk).update(
                    last_error=f"{name}: {exc!r}"[:2000]
                )
    return ok


def events_dispatch_pending(*, limit: int = 500) -> int:
    """Dispatch up to ``limit`` pending events, oldest first. Returns how many completed.

    Each event is locked with SKIP LOCKED so several dispatchers share the work without
    processing one event concurrently.
    """
    completed = 0
    for _ in range(limit):
        with transaction.atomic():
            event = (
                OutboxEvent.unscoped.select_for_update(skip_locked=True)
                .select_related("organization")
                .filter(dispatched_at__isnull=True, attempts__lt=25)
                .order_by("created_at")
                .first()
            )
            if event is None:
                break
            OutboxEvent.unscoped.filter(pk=event.pk).update(attempts=event.attempts + 1)
            if event_dispatch_one(event):
                OutboxEvent.unscoped.filter(pk=event.pk).update(dispatched_at=clock.now())
                completed += 1
    return completed
