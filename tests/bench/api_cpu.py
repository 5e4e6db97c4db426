"""CPU per API request, measured in-process (deterministic enough on a busy machine).

Calls the WSGI application of the production settings (as ``bench_api`` starts it: DEBUG off,
API-key authentication through the per-process key cache and its Redis stamp, the per-key
throttle counting but never refusing) directly, without gunicorn or a socket, ``--n`` times per
endpoint, and reports per request:

- ``py ms``: ``time.process_time()`` of this process (Django, DRF, psycopg, redis-py);
- ``pg ms``: CPU of the PostgreSQL backend serving the connection (``/proc/<pid>/stat``;
  the server must run on this machine, else 0);
- SQL queries and Redis round trips (one per command sent; a pipeline counts once).

Data: the database of DATABASE_URL. When it holds the ``bench_big_param`` table of
``tests.bench.bigdata`` its organization and API key are used; otherwise a small organization
(``--invoices`` invoices with one line and one IVA row each, like the big one) is created once.

    DATABASE_URL=... REDIS_URL=... python -m tests.bench.api_cpu [--n 2000] [--profile detail]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time

SMALL_SLUG = "api-cpu-small"
SMALL_PREFIX = "apicpusm"
SMALL_SECRET = "api-cpu-small-secret-0123456789ab"  # noqa: S105 (benchmark data only)


def _configure() -> None:
    os.environ.update(
        DEBUG="0",
        COBRO_HTTPS="0",
        ALLOWED_HOSTS="localhost,127.0.0.1",
        COBRO_API_RATE_LIMIT="1000000/s",
        COBRO_DISPATCH_ON_COMMIT="0",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="600",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobro.settings")
    import django

    django.setup()


def _small_org(invoices: int) -> tuple[int, str]:
    from django.db import connection, transaction

    from billing.models import Price, Product, TaxRate
    from cobro.models import ApiKey, Organization

    org = Organization.objects.filter(slug=SMALL_SLUG).first()
    if org is not None:
        return org.pk, f"cobro_{SMALL_PREFIX}_{SMALL_SECRET}"
    with transaction.atomic():
        org = Organization.objects.create(
            legal_name="API CPU SpA", display_name="API CPU", slug=SMALL_SLUG, country="CL",
            default_currency="CLP", time_zone="America/Santiago",
        )  # fmt: skip
        ApiKey.objects.create(
            organization=org, name="bench", prefix=SMALL_PREFIX,
            secret_hash=ApiKey.hash_secret(SMALL_SECRET), scopes=["*"],
        )  # fmt: skip
        iva = TaxRate.unscoped.create(organization=org, name="IVA", percentage=19, country="CL")
        product = Product.unscoped.create(organization=org, name="Plan Pyme")
        price = Price.unscoped.create(
            organization=org, product=product, currency="CLP", amount_minor=19_990,
            interval="month", tax_behavior="exclusive", tax_rate=iva,
        )  # fmt: skip
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO customers_customer (organization_id, name, email, phone, country,
                    tax_id, address_line1, address_line2, city, region, postal_code, locale,
                    metadata, notes, created_at, updated_at)
                SELECT %s, 'Cliente ' || n, 'cliente' || n || '@bench.cl', '', 'CL', '', '',
                       '', 'Santiago', '', '', 'es-419', '{}'::jsonb, '', now(), now()
                FROM generate_series(1, %s) n
                """,
                [org.pk, max(1, invoices // 4)],
            )
            cur.execute(
                """
                INSERT INTO billing_invoice (organization_id, customer_id, currency, status,
                    billing_reason, number, sequence_number, period_start, period_end,
                    created_at, issued_at, due_at, paid_at, subtotal_minor, discount_minor,
                    tax_minor, total_minor, credit_applied_minor, amount_due_minor,
                    amount_paid_minor, collection_method, memo)
                SELECT %(org)s, c.id, 'CLP', 'paid', 'subscription_cycle',
                       'F-' || lpad(n::text, 7, '0'), n,
                       now() - make_interval(days => n), now() - make_interval(days => n - 30),
                       now() - make_interval(days => n), now() - make_interval(days => n),
                       now() - make_interval(days => n), now() - make_interval(days => n),
                       19990, 0, 3798, 23788, 0, 23788, 23788, 'charge_automatically', ''
                FROM generate_series(1, %(n)s) n
                JOIN LATERAL (SELECT id FROM customers_customer WHERE organization_id = %(org)s
                              ORDER BY id OFFSET (n %% %(c)s) LIMIT 1) c ON true
                """,
                {"org": org.pk, "n": invoices, "c": max(1, invoices // 4)},
            )
            cur.execute(
                """
                INSERT INTO billing_invoiceline (organization_id, invoice_id, position, kind,
                    description, quantity, unit_amount_minor, amount_minor, price_id,
                    tax_rate_id, tax_inclusive, period_start, period_end)
                SELECT organization_id, id, 0, 'subscription', 'Plan Pyme', 1, 19990, 19990,
                       %s, %s, false, period_start, period_end
                FROM billing_invoice WHERE organization_id = %s
                """,
                [price.pk, iva.pk, org.pk],
            )
            cur.execute(
                """
                INSERT INTO billing_invoicetax (organization_id, invoice_id, tax_rate_id, name,
                    percentage, inclusive, taxable_base_minor, amount_minor)
                SELECT organization_id, id, %s, 'IVA', 19, false, 19990, 3798
                FROM billing_invoice WHERE organization_id = %s
                """,
                [iva.pk, org.pk],
            )
            cur.execute("ANALYZE")
    return org.pk, f"cobro_{SMALL_PREFIX}_{SMALL_SECRET}"


def _org_and_key(invoices: int) -> tuple[int, str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass('bench_big_param') IS NOT NULL")
        if cur.fetchone()[0]:
            from tests.bench import bigdata

            cur.execute("SELECT value FROM bench_big_param WHERE name = 'org'")
            return cur.fetchone()[0], bigdata.API_KEY
    return _small_org(invoices)


def _paths(org: int, n: int, key: str, app) -> dict[str, list[str]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM billing_invoice WHERE organization_id = %s ORDER BY random() LIMIT %s",
            [org, n],
        )
        ids = [r[0] for r in cur.fetchall()]
    details = [f"/api/v1/invoices/{i}" for i in ids]
    # First page and the pages reached through the cursors, as bench_api does.
    import json

    lists = ["/api/v1/invoices?limit=20"]
    for _ in range(50):
        status, body = _call(app, lists[-1], key)
        nxt = json.loads(body).get("next")
        if not nxt:
            break
        path = nxt.split("://", 1)[-1]
        lists.append(path[path.index("/") :])
    return {"detail": details, "list": lists}


def _environ(path: str, key: str) -> dict:
    path_info, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _call(app, path: str, key: str) -> tuple[str, bytes]:
    status_holder: list[str] = []

    def start_response(status, headers, exc_info=None):
        status_holder.append(status)

    result = app(_environ(path, key), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return status_holder[0], body


class _Counters:
    """SQL queries (execute wrapper) and Redis round trips (packed commands sent)."""

    def __init__(self) -> None:
        self.queries = 0
        self.redis = 0
        import redis.connection

        original = redis.connection.AbstractConnection.send_packed_command
        counters = self

        def send_packed_command(conn, command, check_health=True):
            counters.redis += 1
            return original(conn, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]

    def query(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def _pg_cpu_ms() -> float:
    from django.db import connection

    pid = getattr(connection, "_api_cpu_pid", None)
    if pid is None or connection.connection is None:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        connection._api_cpu_pid = pid  # type: ignore[attr-defined]
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def measure(app, key: str, paths: list[str], n: int, counters: _Counters) -> dict:
    from django.db import connection

    for p in paths[:20]:  # warm-up: key cache, connection, code paths
        status, body = _call(app, p, key)
        assert status.startswith("200"), (status, body[:300])
    seq = [paths[i % len(paths)] for i in range(n)]
    counters.queries = counters.redis = 0
    with connection.execute_wrapper(counters.query):
        pg0 = _pg_cpu_ms()
        t0 = time.process_time()
        for p in seq:
            status, body = _call(app, p, key)
            if not status.startswith("200"):
                raise AssertionError((p, status, body[:300]))
        py = time.process_time() - t0
        pg = _pg_cpu_ms() - pg0
    return {
        "py_ms": py * 1000 / n,
        "pg_ms": pg / n,
        "queries": counters.queries / n,
        "redis": counters.redis / n,
        "bytes": len(body),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--profile", choices=["detail", "list"], default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    _configure()
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    org, key = _org_and_key(args.invoices)
    paths = _paths(org, 2000, key, app)
    counters = _Counters()
    random.seed(0)
    if args.profile:
        import cProfile
        import pstats

        measure(app, key, paths[args.profile], 50, counters)
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        measure(app, key, paths[args.profile], args.n, counters)
        prof.disable()
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        return 0
    print(f"{'endpoint':<8} {'py ms':>7} {'pg ms':>7} {'queries':>8} {'redis':>6} {'bytes':>6}")
    for _ in range(args.repeat):
        for name in ("detail", "list"):
            r = measure(app, key, paths[name], args.n, counters)
            print(
                f"{name:<8} {r['py_ms']:>7.3f} {r['pg_ms']:>7.3f} {r['queries']:>8.2f} "
                f"{r['redis']:>6.2f} {r['bytes']:>6}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
