"""The billing run under concurrency, on PostgreSQL: racing runs (threads and processes) and
workers killed with SIGKILL mid-run. Whatever happens, each due period is invoiced exactly
once, no invoice is left without its lines, and numbering stays gap-free (1..N)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections
from django.db.models import Count, Max

from billing.models import Invoice, InvoiceLine, Subscription
from billing.services.billing_run import billing_run_all
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, PriceFactory, TaxRateFactory

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 31, 15, 0, tzinfo=UTC)
# Four months later: four more periods are due for each subscription (Feb 28 .. May 31 local).
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
PERIODS_DUE = 4
SUBSCRIPTIONS = 40


@pytest.fixture
def due_world(transactional_db, org):
    """``SUBSCRIPTIONS`` monthly subscriptions (with tax) that started on T0, each with its
    first invoice and ``PERIODS_DUE`` periods due at ``NOW``."""
    with use_organization(org):
        iva = TaxRateFactory(organization=org)
        price = PriceFactory(organization=org, tax_behavior="exclusive", tax_rate=iva)
        subs = [
            subscription_create(customer=CustomerFactory(organization=org), price=price, now=T0)
            for _ in range(SUBSCRIPTIONS)
        ]
    return org, subs


def assert_consistent(org, *, complete: bool) -> None:
    """The invariants that must hold at any moment, and (``complete``) after a full run."""
    invoices = Invoice.unscoped.filter(organization=org)
    numbers = sorted(invoices.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1)), "numbering has a gap or a duplicate"
    assert len(set(invoices.values_list("number", flat=True))) == len(numbers)
    assert not invoices.annotate(n=Count("lines")).filter(n=0).exists(), "invoice without lines"
    assert not invoices.annotate(n=Count("taxes")).filter(n=0).exists(), "invoice without tax"
    for sub in Subscription.unscoped.filter(organization=org):
        mine = list(invoices.filter(subscription=sub).order_by("period_start"))
        # The subscription moved exactly as far as its invoices: nothing billed twice or lost.
        assert sub.next_billing_at == mine[-1].period_end
        assert sub.current_period_start == mine[-1].period_start
        for prev, nxt in zip(mine, mine[1:], strict=False):
            assert nxt.period_start == prev.period_end
        if complete:
            assert len(mine) == 1 + PERIODS_DUE
    if complete:
        assert len(numbers) == SUBSCRIPTIONS * (1 + PERIODS_DUE)


def _race_threads(n: int, **kwargs) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = billing_run_all(
                now=NOW, fast=i % 4 != 3, batch_size=3 + i, **kwargs
            )  # every fourth racer takes the slow path
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("racers", [2, 8])
def test_racing_runs_in_threads_invoice_each_period_once(due_world, racers):
    org, subs = due_world
    results = _race_threads(racers)
    assert sum(r.invoices for r in results) == SUBSCRIPTIONS * PERIODS_DUE
    assert_consistent(org, complete=True)


def _child_env() -> dict[str, str]:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = quote(s["HOST"] or "127.0.0.1", safe="")
    url = f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"
    env = {k: v for k, v in os.environ.items() if k != "COBRO_TEST_DB_NAME"}
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="cobro.settings_test",
        CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def _billing_run(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "billing_run", f"--now={NOW.isoformat()}", *args],
        cwd=ROOT,
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_no_other_sessions(timeout: float = 10.0) -> None:
    """A killed worker's backend rolls back when it notices the client is gone; wait for it
    so its row locks cannot make the next run skip anything."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    raise AssertionError("a killed worker's session is still open")


@pytest.mark.slow
@pytest.mark.parametrize("racers", [2, 8])
def test_racing_runs_in_processes_invoice_each_period_once(due_world, racers):
    org, subs = due_world
    procs = [
        _billing_run("--batch-size=4", *(["--slow"] if i % 4 == 3 else [])) for i in range(racers)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    invoiced = sum(
        int(out.split("subscriptions, ")[1].split(" invoices")[0]) for out, _e in outputs
    )
    # Racing runs never bill a period twice and keep numbering gap-free. A run that finds a
    # subscription locked by another (SKIP LOCKED) leaves it to the next tick, so whatever the
    # race left is finished by one more run, and the total is still exactly once per period.
    assert_consistent(org, complete=False)
    assert 0 < invoiced <= SUBSCRIPTIONS * PERIODS_DUE
    _wait_for_no_other_sessions()
    invoiced += billing_run_all(now=NOW).invoices
    assert invoiced == SUBSCRIPTIONS * PERIODS_DUE
    assert_consistent(org, complete=True)


@pytest.mark.slow
def test_workers_killed_mid_run_leave_nothing_the_next_run_does_not_finish(due_world):
    org, subs = due_world
    rng = random.Random(20250131)
    progressed = []
    for _attempt in range(5):
        before = Invoice.unscoped.filter(organization=org).count()
        # Small batches (many commits) in one process, slow path in a second one, so the
        # kill lands between and inside transactions of both kinds.
        procs = [_billing_run("--batch-size=2"), _billing_run("--slow")]
        for p in procs:
            assert p.stdout.readline().startswith("start:")  # Django is up, the run begins
        time.sleep(rng.uniform(0.0, 0.6))
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            p.stdout.close()
            p.stderr.close()
        _wait_for_no_other_sessions()
        assert_consistent(org, complete=False)
        progressed.append(Invoice.unscoped.filter(organization=org).count() - before)
    assert any(progressed), "no kill happened after some work was committed"

    # A normal run finishes the job: every due period invoiced exactly once.
    billing_run_all(now=NOW)
    assert_consistent(org, complete=True)
    last = Invoice.unscoped.filter(organization=org).aggregate(m=Max("sequence_number"))["m"]
    assert last == SUBSCRIPTIONS * (1 + PERIODS_DUE)
    assert (
        not InvoiceLine.unscoped.filter(invoice__organization=org)
        .filter(amount_minor__lte=0)
        .exists()
    )
