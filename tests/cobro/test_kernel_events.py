"""The outbox: events exist iff their change committed, dispatch is at least once, and each
handler's database effect happens exactly once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from cobro import clock, events
from cobro.models import AuditEntry, HandlerRun, OutboxEvent
from cobro.services.audit import audit_record

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def handlers():
    """Isolate the global handler registry: tests register their own handlers."""
    saved = {k: list(v) for k, v in events._handlers.items()}
    events._handlers.clear()
    yield events.register_handler
    events._handlers.clear()
    events._handlers.update(saved)


def _effect_handler(event: OutboxEvent) -> None:
    """A handler with a database effect: one audit entry per handled event."""
    audit_record(
        organization=event.organization,
        actor=None,
        action="test.handled",
        changes={"event": str(event.pk)},
    )


def _effects(event: OutboxEvent) -> int:
    return AuditEntry.unscoped.filter(action="test.handled", changes__event=str(event.pk)).count()


def _emit(org, type="test.happened") -> OutboxEvent:
    with transaction.atomic():
        return events.event_emit(organization=org, type=type, payload={"n": 1})


@pytest.mark.django_db
def test_event_delivered_twice_runs_handler_effect_once(org, handlers):
    handlers("test.happened", name="test.effect")(_effect_handler)
    event = _emit(org)

    assert events.event_dispatch_one(event) is True
    assert events.event_dispatch_one(event) is True  # redelivery (crash after effect, etc.)

    assert _effects(event) == 1
    assert HandlerRun.objects.filter(event=event, handler="test.effect").count() == 1


@pytest.mark.django_db
def test_dispatch_pending_marks_event_dispatched_and_does_not_redeliver(org, handlers):
    calls = []
    handlers("test.happened", name="test.count")(lambda e: calls.append(e.pk))
    event = _emit(org)

    assert events.events_dispatch_pending() == 1
    assert events.events_dispatch_pending() == 0

    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 1
    assert calls == [event.pk]


@pytest.mark.django_db
def test_wildcard_handler_sees_every_event_type(org, handlers):
    seen = []
    handlers("*", name="test.all")(lambda e: seen.append(e.type))
    _emit(org, "invoice.paid")
    _emit(org, "payment.failed")
    events.events_dispatch_pending()
    assert sorted(seen) == ["invoice.paid", "payment.failed"]


@pytest.mark.django_db
def test_event_of_rolled_back_transaction_never_exists(org, handlers):
    calls = []
    handlers("test.happened", name="test.count")(lambda e: calls.append(e))

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        events.event_emit(organization=org, type="test.happened")
        1 / 0  # the change fails after the event was written

    assert OutboxEvent.unscoped.count() == 0
    assert events.events_dispatch_pending() == 0
    assert calls == []


@pytest.mark.django_db(transaction=True)  # autocommit, as a careless caller would be
def test_event_emit_refuses_to_run_outside_a_transaction(org):
    with pytest.raises(RuntimeError):
        events.event_emit(organization=org, type="test.happened")
    assert OutboxEvent.unscoped.count() == 0


@pytest.mark.django_db
def test_failing_handler_is_retried_later_then_succeeds(org, handlers):
    handlers("test.happened", name="test.effect")(_effect_handler)
    failures = {"left": 1}

    @handlers("test.happened", name="test.flaky")
    def flaky(event):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("mail server down")
        _effect_handler(event)

    with clock.frozen(T0):
        event = _emit(org)
        assert events.events_dispatch_pending() == 0

    event.refresh_from_db()
    assert event.dispatched_at is None
    assert event.attempts == 1
    assert "test.flaky" in event.last_error and "mail server down" in event.last_error
    assert event.next_attempt_at == T0 + timedelta(seconds=events.RETRY_BASE_SECONDS)
    # The handler that succeeded keeps its effect; the failed one left nothing behind.
    assert _effects(event) == 1
    assert set(HandlerRun.objects.filter(event=event).values_list("handler", flat=True)) == {
        "test.effect"
    }

    with clock.frozen(T0 + timedelta(seconds=2)):
        assert events.events_dispatch_pending() == 0  # backing off: not due yet

    with clock.frozen(T0 + timedelta(seconds=6)):
        assert events.events_dispatch_pending() == 1

    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 2
    assert _effects(event) == 2  # one per handler, each exactly once


@pytest.mark.django_db
def test_poison_event_does_not_spin_the_dispatcher(org, handlers):
    calls = []

    @handlers("test.happened", name="test.poison")
    def poison(event):
        calls.append(event.pk)
        raise ValueError("bad payload")

    with clock.frozen(T0):
        poisoned = _emit(org)
        healthy = _emit(org, "test.other")
        events.events_dispatch_pending(limit=500)

    assert calls == [poisoned.pk]  # tried once, then parked until its backoff expires
    healthy.refresh_from_db()
    assert healthy.dispatched_at is not None


def test_retry_delay_grows_exponentially_and_is_capped():
    delays = [events.retry_delay(n).total_seconds() for n in range(1, 6)]
    assert delays == [5, 10, 20, 40, 80]
    assert events.retry_delay(40) == timedelta(seconds=events.RETRY_MAX_SECONDS)


@pytest.mark.django_db
def test_event_is_given_up_after_max_attempts(org, handlers):
    handlers("test.happened", name="test.poison")(lambda e: 1 / 0)
    event = _emit(org)
    OutboxEvent.unscoped.filter(pk=event.pk).update(attempts=events.MAX_ATTEMPTS)
    with clock.frozen(T0 + timedelta(days=30)):
        assert events.events_dispatch_pending() == 0
    event.refresh_from_db()
    assert event.attempts == events.MAX_ATTEMPTS
    assert event.dispatched_at is None


@pytest.mark.django_db
def test_commit_kicks_a_dispatch_task(org, handlers, settings, django_capture_on_commit_callbacks):
    settings.COBRO_DISPATCH_ON_COMMIT = True  # Celery is eager in tests
    handlers("test.happened", name="test.effect")(_effect_handler)
    with django_capture_on_commit_callbacks(execute=True):
        event = _emit(org)
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert _effects(event) == 1


def _in_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def run():
        try:
            barrier.wait()
            target()
        except Exception as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


def _slow_effect_handler(event):
    time.sleep(0.3)  # long enough for the other dispatcher to collide
    _effect_handler(event)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_event_run_the_effect_once(org, handlers):
    handlers("test.happened", name="test.effect")(_slow_effect_handler)
    event = _emit(org)

    _in_threads(2, lambda: events.event_dispatch_one(OutboxEvent.unscoped.get(pk=event.pk)))

    assert _effects(event) == 1
    assert HandlerRun.objects.filter(event=event).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_share_the_outbox_without_double_effects(org, handlers):
    handlers("test.happened", name="test.effect")(_slow_effect_handler)
    emitted = [_emit(org) for _ in range(4)]

    _in_threads(2, events.events_dispatch_pending)

    assert OutboxEvent.unscoped.filter(dispatched_at__isnull=True).count() == 0
    for event in emitted:
        assert _effects(event) == 1


@pytest.mark.django_db(transaction=True)  # the scheduler manages its own connection
def test_beat_schedule_sweeps_the_outbox_every_few_seconds():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from cobro.celery import app

    DatabaseScheduler(app=app)  # beat start-up: syncs CELERY_BEAT_SCHEDULE into the database

    task = PeriodicTask.objects.get(name="cobro-outbox-sweep")
    assert task.task == "cobro.events_dispatch"
    assert task.enabled
    assert task.interval.every * {"seconds": 1, "minutes": 60}[task.interval.period] <= 10
    app.loader.import_default_modules()  # what a worker does at start-up (autodiscovery)
    assert "cobro.events_dispatch" in app.tasks
