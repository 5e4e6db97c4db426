"""Charge-phase benchmark: N open invoices charged through the real pipeline (claim, gateway
call under the per-gateway limiter, settle, mark paid, events) by a thread pool, the way the
``payments`` queue's threads pool runs them, against the sandbox gateway with 300 ms latency.

Target: >= 100 charges/s, i.e. the gateway's latency and rate limit are the bottleneck, not
our CPU. Run alone with ``python -m tests.bench.bench_charges`` (needs DATABASE_URL or the
embedded database); it creates and drops its own database ``<name>_bench_charges``.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

INVOICES = int(os.environ.get("BENCH_CHARGES", "600"))
THREADS = int(os.environ.get("BENCH_CHARGE_THREADS", "64"))
LATENCY_MS = 300
TARGET_PER_SECOND = 100


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobro.settings_test")
    os.environ["COBRO_SANDBOX_LATENCY_MS"] = str(LATENCY_MS)
    import django
    from django.conf import settings

    django.setup()
    settings.COBRO_SANDBOX_LATENCY_MS = LATENCY_MS
    from django.db import connection, connections
    from django.test.utils import get_runner  # noqa: F401 (test DB helpers live on the backend)

    base = connection.settings_dict["NAME"]
    test_name = f"{base}_bench_charges"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        return _run(connections)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_name, verbosity=0)


def _run(connections) -> int:
    from billing.models import CollectionMethod
    from billing.payments.models import PaymentAttempt, SandboxCharge
    from billing.payments.services.charging import payment_attempt_create, payment_attempt_execute
    from billing.payments.services.methods import payment_method_add_card
    from billing.services.invoices import ManualItem, invoice_create_one_off
    from cobro.models import Organization
    from customers.models import Customer

    org = Organization.objects.create(legal_name="Bench SpA", display_name="Bench", slug="bench")
    customers = []
    for i in range(50):
        c = Customer.unscoped.create(organization=org, name=f"C{i}", email=f"c{i}@bench.test")
        payment_method_add_card(customer=c, gateway="sandbox", token="tok_sandbox_success")
        customers.append(c)
    started = time.monotonic()
    attempt_ids = []
    for i in range(INVOICES):
        invoice = invoice_create_one_off(
            customer=customers[i % len(customers)],
            currency="CLP",
            items=[ManualItem(description="Plan", unit_amount_minor=9_990)],
            collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
        )
        attempt_ids.append(payment_attempt_create(invoice=invoice, trigger="automatic").pk)
    print(f"setup: {INVOICES} invoices + attempts in {time.monotonic() - started:.1f} s")

    create_queries, execute_queries = _queries_per_charge(customers[0])
    print(
        f"database work per charge: {create_queries} queries to create the attempt + "
        f"{execute_queries} to execute and settle it (incl. the sandbox's own ledger row)"
    )

    held = set()  # each pool thread's database connection (psycopg), closed at the end

    def charge(attempt_id: int) -> None:
        try:
            payment_attempt_execute(attempt_id=attempt_id)
        finally:
            # What Celery's Django fix-up does after each task: keep the thread's connection
            # while CONN_MAX_AGE allows (the payments queue runs a threads pool).
            conn = connections["default"]
            conn.close_if_unusable_or_obsolete()
            if conn.connection is not None:
                held.add(conn.connection)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(charge, attempt_ids))
    elapsed = time.monotonic() - started
    for raw in held:
        raw.close()
    rate = INVOICES / elapsed
    succeeded = PaymentAttempt.unscoped.filter(status="succeeded").count() - 1
    charged = SandboxCharge.unscoped.count() - 1  # minus the counted one
    print(
        f"charge phase: {INVOICES} charges, sandbox latency {LATENCY_MS} ms, {THREADS} threads: "
        f"{elapsed:.2f} s = {rate:.0f} charges/s (target >= {TARGET_PER_SECOND}/s)"
    )
    print(f"succeeded attempts {succeeded}, gateway charges {charged} (must be equal)")
    ok = succeeded == charged == INVOICES and rate >= TARGET_PER_SECOND
    print("OK" if ok else "BELOW TARGET or inconsistent")
    return 0 if ok else 1


def _queries_per_charge(customer) -> tuple[int, int]:
    """Queries of one automatic charge of a fresh invoice: creating its attempt (the outbox
    handler's part) and executing + settling it (the payments worker's part)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import CollectionMethod
    from billing.payments.services.charging import payment_attempt_create, payment_attempt_execute
    from billing.services.invoices import ManualItem, invoice_create_one_off

    invoice = invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem(description="Plan", unit_amount_minor=9_990)],
        collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    with CaptureQueriesContext(connection) as created:
        attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
    with CaptureQueriesContext(connection) as executed:
        payment_attempt_execute(attempt_id=attempt.pk)
    return len(created.captured_queries), len(executed.captured_queries)


if __name__ == "__main__":
    sys.exit(main())
