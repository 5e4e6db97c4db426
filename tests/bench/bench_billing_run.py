"""Benchmark: the billing run over 100,000 due monthly subscriptions in 100 organizations.

Database phase only (renew, invoice with a line and IVA, outbox events), as the beat tick's
chunks would run on the billing workers: the due chunks are computed like the tick does and
shared by WORKERS forked processes (the machine's cores), each running ``billing_run_chunk``.
Reports renewals per second (wall clock, and per busy worker process), peak worker memory
(``ru_maxrss``), then checks the result (exactly one invoice per subscription with its line,
tax and events, gap-free numbers per organization). For reference it also times the slow path
(one subscription per transaction) on one extra organization.

Uses its own database ``cobro_bench`` on DATABASE_URL's server (or the embedded server when
DATABASE_URL is unset), created and migrated at start and emptied before seeding.

    python -m tests.bench.bench_billing_run [--orgs 100] [--per-org 1000] [--workers N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from datetime import UTC, date, datetime

BENCH_DB = "cobro_bench"
TARGET_PER_SECOND = 2_000


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobro.settings")
    os.environ["COBRO_DISPATCH_ON_COMMIT"] = "0"  # database phase only: no broker kicks
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from django.conf import settings

    db = settings.DATABASES["default"]
    import psycopg

    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "dbname": "postgres",
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    db["NAME"] = BENCH_DB
    db["CONN_MAX_AGE"] = 0
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(
    orgs: int, per_org: int, start: date, time_zone: str, *, slug: str = "bench", fresh: bool = True
) -> list[int]:
    """Organizations, each with IVA 19% (exclusive), one monthly price and ``per_org``
    customers with one active subscription whose second period is due. Bulk SQL (COPY)."""
    from django.db import connection

    from billing.calendar import Schedule, boundary
    from billing.models import Price, Product, Subscription, TaxRate
    from billing.services.billing_run import _copy
    from cobro.models import Organization
    from customers.models import Customer

    if fresh:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE cobro_organization CASCADE")
    now = datetime.now(UTC)
    org_objs = Organization.objects.bulk_create(
        [
            Organization(
                legal_name=f"Bench {i} SpA",
                display_name=f"Bench {i}",
                slug=f"{slug}-{i}",
                time_zone=time_zone,
            )
            for i in range(orgs)
        ]
    )
    schedule = Schedule(
        anchor_date=start, anchor_day=start.day, interval="month", interval_count=1,
        time_zone=time_zone,
    )  # fmt: skip
    p0, p1 = boundary(schedule, 0), boundary(schedule, 1)
    org_ids = []
    for org in org_objs:
        org_ids.append(org.pk)
        iva = TaxRate.unscoped.create(organization=org, name="IVA", percentage=19, country="CL")
        product = Product.unscoped.create(organization=org, name="Plan Pyme")
        price = Price.unscoped.create(
            organization=org, product=product, currency="CLP", amount_minor=19_990,
            interval="month", tax_behavior="exclusive", tax_rate=iva,
        )  # fmt: skip
        customers = [
            {
                "organization_id": org.pk,
                "name": f"Cliente {n}",
                "email": f"cliente{n}@bench{org.pk}.test",
                "phone": "",
                "country": "CL",
                "tax_id": "",
                "address_line1": "",
                "address_line2": "",
                "city": "",
                "region": "",
                "postal_code": "",
                "locale": "es-419",
                "metadata": _jsonb({}),
                "notes": "",
                "created_at": now,
                "updated_at": now,
            }  # fmt: skip
            for n in range(per_org)
        ]
        _copy(Customer, customers)
        customer_ids = list(
            Customer.unscoped.filter(organization=org).order_by("pk").values_list("pk", flat=True)
        )
        _copy(
            Subscription,
            [
                {
                    "organization_id": org.pk,
                    "customer_id": cid,
                    "price_id": price.pk,
                    "quantity": 1,
                    "status": "active",
                    "currency": "CLP",
                    "started_at": p0,
                    "billing_anchor_day": start.day,
                    "anchor_date": start,
                    "period_index": 0,
                    "current_period_start": p0,
                    "current_period_end": p1,
                    "trial_end": None,
                    "cancel_at_period_end": False,
                    "canceled_at": None,
                    "paused_at": None,
                    "resume_at": None,
                    "collection_method": "charge_automatically",
                    "days_until_due": 0,
                    "coupon_id": None,
                    "coupon_periods_used": 0,
                    "pending_price_id": None,
                    "pending_quantity": None,
                    "setup_fee_invoiced": True,
                    "next_billing_at": p1,
                    "metadata": _jsonb({}),
                    "created_at": now,
                    "updated_at": now,
                }  # fmt: skip
                for cid in customer_ids
            ],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org_ids


def _jsonb(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _worker(queue, results, now_iso: str) -> None:
    from django.db import connections

    from billing.services.billing_run import RunStats, billing_run_chunk

    connections.close_all()  # never share the parent's connection across fork
    now = datetime.fromisoformat(now_iso)
    stats = RunStats()
    busy = 0.0
    while True:
        item = queue.get()
        if item is None:
            break
        org_id, lo, hi = item
        started = time.perf_counter()
        stats.add(billing_run_chunk(organization_id=org_id, id_from=lo, id_to=hi, now=now))
        busy += time.perf_counter() - started
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results.put((stats.invoices, stats.subscriptions, len(stats.failed), busy, maxrss_kb))
    connections.close_all()


def run_fast(now: datetime, org_ids: list[int], workers: int, chunk_size: int) -> dict:
    from django.db import connections

    from billing.services.billing_run import billing_run_due_chunks

    chunks = [c for c in billing_run_due_chunks(now=now, chunk_size=chunk_size)
              if c.organization_id in set(org_ids)]  # fmt: skip
    connections.close_all()
    ctx = mp.get_context("fork")
    queue, results = ctx.Queue(), ctx.Queue()
    for c in chunks:
        queue.put((c.organization_id, c.id_from, c.id_to))
    for _ in range(workers):
        queue.put(None)
    started = time.perf_counter()
    procs = [
        ctx.Process(target=_worker, args=(queue, results, now.isoformat())) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    out = [results.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    invoices = sum(o[0] for o in out)
    return {
        "chunks": len(chunks),
        "invoices": invoices,
        "failed": sum(o[2] for o in out),
        "wall": wall,
        "per_second": invoices / wall,
        "per_process": invoices / max(sum(o[3] for o in out), 1e-9),
        "maxrss_mb": max(o[4] for o in out) / 1024,
    }


def run_slow(now: datetime, org_id: int) -> dict:
    from billing.services.billing_run import billing_run_chunk

    started = time.perf_counter()
    stats = billing_run_chunk(organization_id=org_id, id_from=0, id_to=2**62, now=now, fast=False)
    wall = time.perf_counter() - started
    return {"invoices": stats.invoices, "wall": wall, "per_second": stats.invoices / wall}


def verify(org_ids: list[int], per_org: int) -> list[str]:
    from django.db import connection

    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.organization_id, count(*), min(i.sequence_number), max(i.sequence_number),
                   count(DISTINCT i.subscription_id)
            FROM billing_invoice i WHERE i.organization_id = ANY(%s) GROUP BY 1
            """,
            [org_ids],
        )
        rows = cursor.fetchall()
        if len(rows) != len(org_ids):
            problems.append(f"{len(org_ids) - len(rows)} organizations without invoices")
        for org, n, lo, hi, subs in rows:
            if (n, lo, hi, subs) != (per_org, 1, per_org, per_org):
                problems.append(f"organization {org}: {n} invoices numbered {lo}..{hi}")
        for table, expected in (("billing_invoiceline", 1), ("billing_invoicetax", 1)):
            cursor.execute(
                f"SELECT count(*) FROM billing_invoice i LEFT JOIN {table} t "  # noqa: S608
                "ON t.invoice_id = i.id WHERE i.organization_id = ANY(%s) "
                "GROUP BY i.id HAVING count(t.id) <> %s LIMIT 1",
                [org_ids, expected],
            )
            if cursor.fetchone():
                problems.append(f"an invoice without exactly {expected} row in {table}")
        cursor.execute(
            "SELECT count(*) FROM cobro_outboxevent WHERE organization_id = ANY(%s)", [org_ids]
        )
        events = cursor.fetchone()[0]
        if events != 3 * per_org * len(org_ids):
            problems.append(f"{events} outbox events, expected 3 per renewal")
        cursor.execute(
            "SELECT count(*) FROM billing_subscription WHERE organization_id = ANY(%s) "
            "AND next_billing_at <= current_period_start",
            [org_ids],
        )
        if cursor.fetchone()[0]:
            problems.append("a subscription did not advance")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--per-org", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunk-size", type=int, default=1_000)
    parser.add_argument("--slow-sample", type=int, default=1_000)
    args = parser.parse_args(argv)

    configure()
    from django.db import connection

    start = date(2025, 1, 10)
    tz = "America/Santiago"
    now = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)  # the second period of every sub is due

    t = time.perf_counter()
    org_ids = seed(args.orgs, args.per_org, start, tz)
    slow_org = None
    if args.slow_sample:
        slow_org = seed(1, args.slow_sample, start, tz, slug="bench-slow", fresh=False)[0]
    seed_extra = time.perf_counter() - t
    total = args.orgs * args.per_org
    print(f"seeded {total:,} due subscriptions in {args.orgs} organizations ({seed_extra:.1f} s)")
    print(f"database: {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}")

    fast = run_fast(now, org_ids, args.workers, args.chunk_size)
    problems = verify(org_ids, args.per_org)
    slow = run_slow(now, slow_org) if slow_org else None

    print()
    print("Billing run, database phase (renew + invoice with line and tax + outbox events)")
    print(f"  subscriptions renewed : {fast['invoices']:,} ({fast['chunks']} chunks, "
          f"{args.workers} worker processes, {fast['failed']} failed)")  # fmt: skip
    print(f"  wall time             : {fast['wall']:.1f} s")
    print(f"  renewals per second   : {fast['per_second']:,.0f} (all workers)")
    print(f"  per worker process    : {fast['per_process']:,.0f} renewals/s of busy time")
    print(f"  peak worker memory    : {fast['maxrss_mb']:.0f} MB (ru_maxrss)")
    if slow:
        print(
            f"  slow path (reference) : {slow['per_second']:,.0f} renewals/s "
            f"({slow['invoices']:,} subscriptions, one transaction per period, 1 process)"
        )
    met = fast["per_second"] >= TARGET_PER_SECOND and not problems
    print(f"  target >= {TARGET_PER_SECOND:,}/s      : {'MET' if met else 'NOT MET'} "
          f"on this machine ({os.cpu_count()} cores, PostgreSQL on the same host; "
          "figures vary with the machine and its load)")  # fmt: skip
    print(f"  checks                : {'ok' if not problems else '; '.join(problems)}")
    return 0 if not problems and fast["invoices"] == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
