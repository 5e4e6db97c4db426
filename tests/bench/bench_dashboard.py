"""Benchmark: staff dashboard pages over one organization with 1,000,000 subscriptions.

Data: ``tests.bench.bigdata`` (database ``cobro_bench_big``, generated once and reused). The
pages are requested in process through Django's test client, signed in as the organization's
owner, with the whole middleware stack (sessions, tenancy, locale, security) and the real
templates; no network, so the figures are the server's time per request. Each page is warmed
up, then requested ``--repeat`` times in a row; the report gives median and p90 per page and
whether the median meets its target: the home (metrics) under 300 ms, list pages under
200 ms (issue 6). Also prints the number of SQL queries of each page.

    python -m tests.bench.bench_dashboard [--repeat 15] [--subscriptions 1000000] [--months 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HOME_TARGET_MS = 300
LIST_TARGET_MS = 200


def pages() -> list[tuple[str, str, int]]:
    from django.urls import reverse

    return [
        ("home (metrics, 3 months)", reverse("dashboard:home"), HOME_TARGET_MS),
        ("home (metrics, 12 months)", reverse("dashboard:home") + "?period=12m", HOME_TARGET_MS),
        ("customers", reverse("customers:list"), LIST_TARGET_MS),
        ("customers, page 100", reverse("customers:list") + "?page=100", LIST_TARGET_MS),
        ("customers, search", reverse("customers:list") + "?q=Rojas+4711", LIST_TARGET_MS),
        ("subscriptions", reverse("billing:subscription_list"), LIST_TARGET_MS),
        (
            "subscriptions, past due",
            reverse("billing:subscription_list") + "?status=past_due",
            LIST_TARGET_MS,
        ),
        ("invoices", reverse("billing:invoice_list"), LIST_TARGET_MS),
        ("invoices, open", reverse("billing:invoice_list") + "?status=open", LIST_TARGET_MS),
        ("payments", reverse("payments:list"), LIST_TARGET_MS),
        ("payments, failed", reverse("payments:list") + "?status=failed", LIST_TARGET_MS),
    ]


def measure(client, url: str, repeat: int) -> tuple[list[float], list[float], int, int, float]:
    """Wall times and this process's CPU times (ms) per request, HTTP status, number of
    SQL queries and their summed wall time of one more request."""
    from django.db import connection, reset_queries

    response = client.get(url, secure=True)  # warm-up (caches, lazily built buckets)
    status = response.status_code
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        status = response.status_code if response.status_code != 200 else status
    reset_queries()
    connection.force_debug_cursor = True
    client.get(url, secure=True)
    queries = len(connection.queries)
    sql_ms = sum(float(q["time"]) for q in connection.queries) * 1000
    connection.force_debug_cursor = False
    return times, cpu, status, queries, sql_ms


def consistency() -> str:
    """The home's MRR (from the ledger and cached buckets) against the subscriptions table
    and against the reference definition that reads every event (slow, once)."""
    from billing import metrics
    from cobro.models import Organization
    from cobro.money import round_half_up
    from cobro.tenancy.context import use_organization
    from tests.bench import bigdata

    org = Organization.objects.get(slug=bigdata.ORG_SLUG)
    with use_organization(org):
        started = time.perf_counter()
        home = metrics.metrics_for_home(organization=org)
        table = round_half_up(metrics.mrr_now(organization=org))
        reference, customers = metrics._state_at(organization=org, at=home.now)
        seconds = time.perf_counter() - started
    figures = (home.mrr_minor, table, round_half_up(reference))
    same = len(set(figures)) == 1 and home.active_customers == len(customers)
    print(
        f"  check: MRR home {figures[0]:,} / subscriptions table {figures[1]:,} / every event "
        f"{figures[2]:,}; paying customers {home.active_customers:,} / {len(customers):,}: "
        f"{'equal' if same else 'DIFFERENT'} ({seconds:.1f} s)"
    )
    return "" if same else "the home's MRR differs from the reference"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=4)
    parser.add_argument("--only", default="", help="substring of the page names to run")
    args = parser.parse_args(argv)

    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    from tests.bench import bigdata

    bigdata.configure()
    params = bigdata.generate(subscriptions=args.subscriptions, months=args.months)
    bigdata.vacuum()

    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(email=bigdata.STAFF_EMAIL)
    client = Client()
    client.force_login(user)
    sizes = bigdata.summary()
    print(f"data: {sizes} (generated/checked in {params['seconds']:.0f} s)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")  # fmt: skip
    print()
    print(
        f"  {'page':<28} {'median':>7} {'p90':>7} {'min':>7} {'cpu':>7} {'sql':>7} "
        f"{'queries':>7}  target (median)"
    )
    failures = []
    for name, url, target in pages():
        if args.only and args.only not in name:
            continue
        times, cpu, status, queries, sql_ms = measure(client, url, args.repeat)
        if status != 200:
            failures.append(f"{name}: HTTP {status}")
        med = statistics.median(times)
        p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)]
        ok = med < target
        if not ok:
            failures.append(f"{name}: median {med:.0f} ms >= {target} ms")
        print(
            f"  {name:<28} {med:>5.0f}ms {p90:>5.0f}ms {min(times):>5.0f}ms "
            f"{statistics.median(cpu):>5.0f}ms {sql_ms:>5.0f}ms {queries:>7}  "
            f"< {target} ms {'MET' if ok else 'NOT MET'}",
            flush=True,
        )
    problem = consistency()
    if problem:
        failures.append(problem)
    print()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"load average after: {load}; in-process Django test client, PostgreSQL on the same "
        "host. cpu: this process's CPU time per request (Python side, median); sql: wall "
        "time of the page's queries (one request). Wall figures grow with the machine's "
        "load: run on an idle machine to compare."
    )
    if failures:
        print("not met: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
