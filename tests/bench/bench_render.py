"""Invoice PDF rendering benchmark (WeasyPrint).

Targets (issue 5): a one-page invoice renders in median <= 35 ms and p99 <= 100 ms; a documents
worker's memory over many renders stays under 250 MB and grows less than 20%. WeasyPrint's fast
path subsets fonts with HarfBuzz (Debian ``libharfbuzz-subset0``); without it it falls back to
fontTools, about five times slower. The report says which path ran.

Run alone with ``python -m tests.bench.bench_render`` (needs DATABASE_URL or the embedded
database); it creates and drops its own database ``<name>_bench_render``. ``BENCH_RENDERS``
sets the timed renders (default 300) and ``BENCH_RENDER_MEMORY`` the renders of the memory run
(default 3000; the issue asks for 10,000, about six minutes on this machine).

Wall-clock figures are only meaningful on an otherwise idle machine. To compare template or
stylesheet variants on a loaded one, count instructions instead (load-independent): render the
invoice's HTML N times in one process under ``valgrind --tool=callgrind`` for N=1 and N=3 and
take (total3 - total1) / 2 from the "Collected" lines (or zero the counters after warm-up
with ``callgrind_control -z`` and dump with ``-d``; call ``gc.collect()`` after each render and
keep GC out of the window otherwise, or a full collection lands in one variant's count). What a
render costs (issue 5 profile): about 70% is WeasyPrint's Python (cascade, boxes, layout,
drawing), so the template keeps elements few (see invoice.html) and uses its own user-agent
stylesheet (ua.css: no pseudo-elements on every element); font shaping and subsetting use a
Latin subset of DejaVu Sans. The p99 was the cyclic GC's full collections of the whole heap:
the benchmark prepares its process like a documents worker (warm-up render, ``gc.freeze()``).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time

RENDERS = int(os.environ.get("BENCH_RENDERS", "300"))
MEMORY_RENDERS = int(os.environ.get("BENCH_RENDER_MEMORY", "3000"))
MEDIAN_MS, P99_MS = 35.0, 100.0
MEMORY_LIMIT_MB, MEMORY_GROWTH = 250.0, 0.20


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobro.settings_test")
    import django

    django.setup()
    from django.db import connection, connections

    base = connection.settings_dict["NAME"]
    test_name = f"{base}_bench_render"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return _run()
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_name, verbosity=0)


def _invoice():
    from decimal import Decimal

    from billing.models import Price, Product, TaxRate
    from billing.services.subscriptions import subscription_create
    from cobro.models import Organization
    from cobro.tenancy.context import use_organization
    from customers.models import Customer

    org = Organization.objects.create(
        legal_name="Bench Servicios SpA",
        display_name="Bench",
        slug="bench",
        tax_id="76.123.456-7",
        address="Av. Apoquindo 4500\nLas Condes, Santiago",
    )
    with use_organization(org):
        customer = Customer.unscoped.create(
            organization=org,
            name="Panadería Los Aromos Ltda.",
            email="pagos@losaromos.cl",
            tax_id="77.888.999-K",
            address_line1="Los Aromos 455",
            city="Ñuñoa",
        )
        iva = TaxRate.unscoped.create(
            organization=org, name="IVA", percentage=Decimal("19"), country="CL"
        )
        product = Product.unscoped.create(organization=org, name="Plan Pro")
        price = Price.unscoped.create(
            organization=org,
            product=product,
            currency="CLP",
            amount_minor=12_990,
            interval="month",
            tax_rate=iva,
            tax_behavior="exclusive",
        )
        sub = subscription_create(customer=customer, price=price, quantity=3)
        from billing.documents.services import _load

        return _load("invoice", sub.invoices.get().pk)


def _run() -> int:
    import weasyprint

    from billing.documents import rendering

    invoice = _invoice()
    fast = rendering.harfbuzz_subsetting_available()
    path = "HarfBuzz (fast path)" if fast else "fontTools (slow path: libharfbuzz-subset0 missing)"
    print(f"weasyprint {weasyprint.__version__}; font subsetting: {path}")
    # What every worker process does once at start (Celery worker_process_init): a warm-up
    # render, then gc.freeze(), so full GC collections skip the long-lived heap.
    rendering.prepare_worker_process()
    print(f"worker process prepared: {gc.get_freeze_count()} objects frozen for the GC")
    for _ in range(5):  # warm up: fontconfig, template and stylesheet caches
        pdf, pages = rendering.invoice_pdf(invoice)
    assert pages == 1, "the benchmark invoice must fit on one page"
    timings, cpu = [], []
    for _ in range(RENDERS):
        started, started_cpu = time.perf_counter(), time.process_time()
        rendering.invoice_pdf(invoice)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    timings.sort()
    median = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    # CPU time of this process: what a render costs while other processes compete for the CPU.
    print(
        f"cpu time per render: median {statistics.median(cpu):.1f} ms "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(
        f"one-page invoice ({len(pdf)} bytes): {RENDERS} renders, median {median:.1f} ms, "
        f"p99 {p99:.1f} ms, max {timings[-1]:.1f} ms "
        f"(targets: median <= {MEDIAN_MS:.0f} ms, p99 <= {P99_MS:.0f} ms)"
    )

    gc.collect()
    start_rss = rss_mb()
    checkpoints = []
    started = time.monotonic()
    for i in range(1, MEMORY_RENDERS + 1):
        rendering.invoice_pdf(invoice)
        if i % max(1, MEMORY_RENDERS // 5) == 0:
            checkpoints.append((i, rss_mb()))
    end_rss = rss_mb()
    growth = (end_rss - start_rss) / start_rss if start_rss else 0.0
    print(
        f"memory over {MEMORY_RENDERS} renders ({time.monotonic() - started:.0f} s): "
        f"start {start_rss:.0f} MB, end {end_rss:.0f} MB, growth {growth:+.1%}; checkpoints "
        + ", ".join(f"{i}: {mb:.0f} MB" for i, mb in checkpoints)
        + f" (targets: < {MEMORY_LIMIT_MB:.0f} MB, growth < {MEMORY_GROWTH:.0%})"
    )
    ok = (
        median <= MEDIAN_MS
        and p99 <= P99_MS
        and end_rss < MEMORY_LIMIT_MB
        and growth < MEMORY_GROWTH
    )
    print("render benchmark:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
