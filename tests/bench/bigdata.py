"""One big organization for the at-scale benchmarks (``bench_dashboard``, ``bench_api``).

Fills the database ``cobro_bench_big`` (on DATABASE_URL's server, or the embedded one) with one
organization, "Bench Big SpA" (slug ``bench-big``, CLP, America/Santiago), holding by default
1,000,000 customers, each with one subscription, a default payment method, the invoices of the
subscription's months of history (about 1.9 million with the defaults), their lines and IVA
rows, the payment attempts that settled them, and the ``subscription.*`` outbox events the
metrics read. Everything is written by set-based SQL (``INSERT ... SELECT generate_series``)
inside PostgreSQL, one transaction per step.

Re-entrant: each step records itself in ``bench_big_step`` in the same transaction as its
rows, so a run resumes after the last finished step, and a database already filled is reused
as it is (``migrate`` still runs first, so new indexes and ledgers are built on the existing
rows). ``--fresh`` drops the database and starts over.

Distributions (deterministic, from hashes of the row number):
- plans: Básico 9.990 (45 %), Pyme 19.990 (35 %), Pro 49.990 (12 %) monthly, Pyme yearly
  199.900 (8 %); CLP; IVA 19 % exclusive; quantity 1, 2 for 4 % (upgraded in month two);
- status: active 82 %, past due 3 %, trialing 4 %, paused 2 %, canceled 8 %, unpaid 1 %;
- history: a subscription started H whole months ago, H = floor(MONTHS * u^2) (u uniform),
  so recent sign-ups dominate; one invoice per period started (H + 1), trials have none yet;
- invoices: paid (with a succeeded attempt; 5 % after one failed attempt, i.e. recovered by
  dunning), the latest one of a past-due or unpaid subscription open and overdue (one failed
  attempt), 0.5 % of older ones uncollectible;
- payment methods: card 80 %, bank transfer 15 %, cash 5 %.

    python -m tests.bench.bigdata [--subscriptions 1000000] [--months 4] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

BENCH_DB = os.environ.get("COBRO_BENCH_BIG_DB", "cobro_bench_big")
ORG_SLUG = "bench-big"
STAFF_EMAIL = "bench@cobro.localhost"
API_KEY_PREFIX = "benchbig"
API_KEY_SECRET = "bench-big-secret-0123456789abcdef"  # noqa: S105 (bench database only)
API_KEY = f"cobro_{API_KEY_PREFIX}_{API_KEY_SECRET}"

# (product, amount, interval, weight out of 100)
PLANS = (
    ("Plan Básico", 9_990, "month", 45),
    ("Plan Pyme", 19_990, "month", 35),
    ("Plan Pro", 49_990, "month", 12),
    ("Plan Pyme anual", 199_900, "year", 8),
)


def server_params() -> dict:
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    return {k: v for k, v in params.items() if v}


def configure(*, fresh: bool = False, migrate: bool = True) -> None:
    """Point Django at the benchmark database (created when missing) and migrate it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobro.settings")
    os.environ["COBRO_DISPATCH_ON_COMMIT"] = "0"  # no broker kicks from the bench
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import psycopg
    from django.conf import settings

    with psycopg.connect(**server_params(), dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{BENCH_DB}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    db = settings.DATABASES["default"]
    db["NAME"] = BENCH_DB
    db["CONN_MAX_AGE"] = 0
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        # Without REDIS_URL the cache is a database table (the home caches its forecast).
        call_command("createcachetable", verbosity=0)


# -- steps -----------------------------------------------------------------------------------


def _done(cur, step: str) -> bool:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS bench_big_step (step text PRIMARY KEY, rows bigint, "
        "seconds double precision, done_at timestamptz NOT NULL DEFAULT now())"
    )
    cur.execute("SELECT 1 FROM bench_big_step WHERE step = %s", [step])
    return cur.fetchone() is not None


def _step(name: str, fn, *args) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        if _done(cur, name):
            return
        # Bulk load of a benchmark database: the rows are consistent by construction, so
        # foreign-key (and other) triggers are off for the step; the MRR ledger, which a
        # trigger keeps in production, is replayed from the events by the last step.
        cur.execute("SET LOCAL session_replication_role = replica")
        started = time.perf_counter()
        rows = fn(cur, *args)
        seconds = time.perf_counter() - started
        cur.execute(
            "INSERT INTO bench_big_step (step, rows, seconds) VALUES (%s, %s, %s)",
            [name, rows, seconds],
        )
    print(f"  {name:<16} {rows or 0:>10,} rows in {seconds:6.1f} s", flush=True)


def _organization(cur, subscriptions: int, months: int) -> int:
    """Organization, owner, API key, tax, catalog; the parameters of the data set."""
    from django.contrib.auth import get_user_model

    from billing.models import Price, Product, TaxRate
    from cobro.models import ApiKey, Membership, Organization

    org = Organization.objects.create(
        legal_name="Bench Big SpA",
        display_name="Bench Big",
        slug=ORG_SLUG,
        country="CL",
        default_currency="CLP",
        time_zone="America/Santiago",
    )
    user_model = get_user_model()
    user = user_model.objects.filter(email=STAFF_EMAIL).first()
    if user is None:
        user = user_model.objects.create_user(
            username="bench", email=STAFF_EMAIL, password="bench-big-2026"
        )
    Membership.objects.create(organization=org, user=user, role="owner")
    ApiKey.objects.create(
        organization=org,
        name="bench",
        prefix=API_KEY_PREFIX,
        secret_hash=ApiKey.hash_secret(API_KEY_SECRET),
        scopes=["*"],
    )
    iva = TaxRate.unscoped.create(organization=org, name="IVA", percentage=19, country="CL")
    for name, amount, interval, _weight in PLANS:
        product = Product.unscoped.create(organization=org, name=name)
        Price.unscoped.create(
            organization=org, product=product, currency="CLP", amount_minor=amount,
            interval=interval, tax_behavior="exclusive", tax_rate=iva,
        )  # fmt: skip
    cur.execute("CREATE TABLE IF NOT EXISTS bench_big_param (name text PRIMARY KEY, value bigint)")
    cur.execute(
        "INSERT INTO bench_big_param VALUES ('org', %s), ('subscriptions', %s), ('months', %s), "
        "('generated_at', extract(epoch FROM now())::bigint)",
        [org.pk, subscriptions, months],
    )
    return 1


def _customers(cur) -> int:
    cur.execute(
        """
        INSERT INTO customers_customer (organization_id, name, email, phone, country, tax_id,
            address_line1, address_line2, city, region, postal_code, locale, metadata, notes,
            created_at, updated_at)
        SELECT p.org,
               (ARRAY['Ana','Benjamín','Camila','Diego','Elena','Felipe','Gabriela','Héctor',
                      'Isidora','Joaquín','Karen','Luis','María','Nicolás','Olga','Pedro',
                      'Rocío','Sebastián','Teresa','Valentina'])[1 + n % 20] || ' ' ||
               (ARRAY['González','Muñoz','Rojas','Díaz','Pérez','Soto','Contreras','Silva',
                      'Martínez','Sepúlveda','Morales','Rodríguez','López','Fuentes',
                      'Hernández','Torres','Araya','Flores','Espinoza','Valenzuela',
                      'Castillo','Tapia','Reyes','Gutiérrez','Castro','Pizarro','Álvarez',
                      'Vásquez','Sánchez','Fernández'])[1 + (n / 20) % 30] || ' ' || n,
               'cliente' || n || '@bench.cl', '', 'CL', '', '', '',
               (ARRAY['Santiago','Valparaíso','Concepción','La Serena','Temuco','Antofagasta',
                      'Rancagua','Talca','Puerto Montt','Iquique'])[1 + (n / 7) % 10],
               '', '', 'es-419', '{}'::jsonb, '', s.started_at - interval '1 hour',
               s.started_at - interval '1 hour'
        FROM bench_big_param_v p, bench_big_sub_v s(n, started_at)
        ORDER BY n
        """
    )
    return cur.rowcount


def _param_views(cur) -> None:
    """Views over the parameters and over each row number's drawn attributes."""
    cur.execute(
        """
        CREATE OR REPLACE VIEW bench_big_param_v AS
        SELECT (SELECT value FROM bench_big_param WHERE name = 'org') AS org,
               (SELECT value FROM bench_big_param WHERE name = 'subscriptions') AS subs,
               (SELECT value FROM bench_big_param WHERE name = 'months') AS months,
               to_timestamp((SELECT value FROM bench_big_param WHERE name = 'generated_at'))
                   AS gen_at
        """
    )
    # u1..u4: independent uniform draws in [0, 1) per row number (hash-based, repeatable).
    cur.execute(
        """
        CREATE OR REPLACE VIEW bench_big_draw_v AS
        SELECT n,
               ((hashint8(n) & 2147483647) % 1000000) / 1000000.0 AS u1,
               ((hashint8(n + 7919) & 2147483647) % 1000000) / 1000000.0 AS u2,
               ((hashint8(n + 104729) & 2147483647) % 1000000) / 1000000.0 AS u3,
               ((hashint8(n + 1299709) & 2147483647) % 1000000) / 1000000.0 AS u4
        FROM generate_series(1, (SELECT subs FROM bench_big_param_v)) AS n
        """
    )
    # history H (whole months), started_at (spread over the day), plan index, status.
    cur.execute(
        """
        CREATE OR REPLACE VIEW bench_big_sub_full_v AS
        SELECT d.n,
               floor(p.months * d.u1 * d.u1)::int AS h,
               date_trunc('minute', p.gen_at - interval '2 days')
                   - make_interval(months => floor(p.months * d.u1 * d.u1)::int)
                   - make_interval(mins => (d.u4 * 20000)::int) AS started_at,
               CASE WHEN d.u2 < 0.45 THEN 1 WHEN d.u2 < 0.80 THEN 2
                    WHEN d.u2 < 0.92 THEN 3 ELSE 4 END AS plan,
               CASE WHEN d.u3 < 0.82 THEN 'active' WHEN d.u3 < 0.85 THEN 'past_due'
                    WHEN d.u3 < 0.89 THEN 'trialing' WHEN d.u3 < 0.91 THEN 'paused'
                    WHEN d.u3 < 0.99 THEN 'canceled' ELSE 'unpaid' END AS status,
               (d.u4 < 0.04 AND floor(p.months * d.u1 * d.u1) >= 1
                AND d.u3 < 0.85) AS upgraded,  -- active or past due ones only
               d.u4 AS u4
        FROM bench_big_draw_v d, bench_big_param_v p
        """
    )
    cur.execute(
        "CREATE OR REPLACE VIEW bench_big_sub_v AS SELECT n, started_at FROM bench_big_sub_full_v"
    )


def _subscriptions(cur) -> int:
    """One per customer (customer ids follow the row numbers in order)."""
    cur.execute(
        """
        CREATE TABLE bench_big_map AS
        SELECT row_number() OVER (ORDER BY id) AS n, id AS customer_id
        FROM customers_customer
        WHERE organization_id = (SELECT org FROM bench_big_param_v)
        """
    )
    cur.execute("CREATE UNIQUE INDEX ON bench_big_map (n)")
    cur.execute(
        """
        CREATE TABLE bench_big_price AS
        SELECT row_number() OVER (ORDER BY id) AS plan, id AS price_id, amount_minor, interval
        FROM billing_price WHERE organization_id = (SELECT org FROM bench_big_param_v)
        """
    )
    cur.execute(
        """
        INSERT INTO billing_subscription (organization_id, customer_id, price_id, quantity,
            status, currency, started_at, billing_anchor_day, anchor_date, period_index,
            current_period_start, current_period_end, trial_end, cancel_at_period_end,
            canceled_at, paused_at, resume_at, collection_method, days_until_due,
            coupon_id, coupon_periods_used, pending_price_id, pending_quantity,
            setup_fee_invoiced, next_billing_at, metadata, created_at, updated_at)
        SELECT p.org, m.customer_id, pr.price_id, CASE WHEN s.upgraded THEN 2 ELSE 1 END,
               s.status, 'CLP', s.started_at,
               extract(day FROM s.started_at AT TIME ZONE 'America/Santiago')::int,
               (s.started_at AT TIME ZONE 'America/Santiago')::date,
               CASE WHEN s.status = 'trialing' THEN 0 ELSE s.h END,
               s.started_at + make_interval(months => s.h * per.m),
               s.started_at + make_interval(months => (s.h + 1) * per.m),
               CASE WHEN s.status = 'trialing'
                    THEN s.started_at + make_interval(months => (s.h + 1) * per.m) END,
               false,
               CASE WHEN s.status = 'canceled' THEN s.started_at
                    + make_interval(months => s.h * per.m) + interval '10 days' END,
               CASE WHEN s.status = 'paused' THEN s.started_at
                    + make_interval(months => s.h * per.m) + interval '1 day' END,
               NULL, 'charge_automatically', 0, NULL, 0, NULL, NULL, true,
               CASE WHEN s.status IN ('canceled', 'paused') THEN NULL
                    ELSE s.started_at + make_interval(months => (s.h + 1) * per.m) END,
               '{}'::jsonb, s.started_at, s.started_at
        FROM bench_big_sub_full_v s
        JOIN bench_big_map m ON m.n = s.n
        JOIN bench_big_price pr ON pr.plan = s.plan
        CROSS JOIN bench_big_param_v p
        CROSS JOIN LATERAL (SELECT CASE WHEN pr.interval = 'year' THEN 12 ELSE 1 END AS m) per
        ORDER BY s.n
        """
    )
    rows = cur.rowcount
    cur.execute(
        """
        CREATE TABLE bench_big_sub AS
        SELECT s.id AS subscription_id, s.customer_id, s.price_id, s.quantity, s.status,
               s.started_at, s.period_index AS h, f.upgraded, f.u4, pr.amount_minor,
               pr.interval
        FROM billing_subscription s
        JOIN bench_big_map m ON m.customer_id = s.customer_id
        JOIN bench_big_sub_full_v f ON f.n = m.n
        JOIN bench_big_price pr ON pr.price_id = s.price_id
        WHERE s.organization_id = (SELECT org FROM bench_big_param_v)
        """
    )
    return rows


def _payment_methods(cur) -> int:
    cur.execute(
        """
        INSERT INTO payments_paymentmethod (organization_id, customer_id, type, gateway,
            gateway_customer_id, gateway_token, brand, last4, exp_month, exp_year,
            fingerprint, wallet, is_default, created_at, removed_at)
        SELECT p.org, s.customer_id,
               CASE WHEN s.u4 < 0.80 THEN 'card' WHEN s.u4 < 0.95 THEN 'bank_transfer'
                    ELSE 'cash' END,
               CASE WHEN s.u4 < 0.80 THEN 'sandbox' ELSE 'manual' END,
               '', CASE WHEN s.u4 < 0.80 THEN 'tok_bench_' || s.subscription_id ELSE '' END,
               CASE WHEN s.u4 < 0.80 THEN 'visa' ELSE '' END,
               CASE WHEN s.u4 < 0.80 THEN lpad((s.subscription_id % 10000)::text, 4, '0')
                    ELSE '' END,
               CASE WHEN s.u4 < 0.80 THEN 12 END, CASE WHEN s.u4 < 0.80 THEN 2030 END,
               '', '', true, s.started_at, NULL
        FROM bench_big_sub s CROSS JOIN bench_big_param_v p
        """
    )
    return cur.rowcount


def _invoices(cur) -> int:
    """One per started period; numbered F-0000001... in creation order."""
    cur.execute(
        """
        CREATE TABLE bench_big_inv AS
        SELECT s.subscription_id, s.customer_id, s.price_id, s.status AS sub_status, k,
               s.h, s.amount_minor * s.quantity AS subtotal,
               s.started_at + make_interval(months => k * per.m) AS period_start,
               s.started_at + make_interval(months => (k + 1) * per.m) AS period_end,
               CASE WHEN k = s.h AND s.status IN ('past_due', 'unpaid') THEN 'open'
                    WHEN k < s.h AND ((hashint8(s.subscription_id * 31 + k) & 1023) < 5)
                        THEN 'uncollectible'
                    ELSE 'paid' END AS inv_status,
               ((hashint8(s.subscription_id * 17 + k) & 1023) < 51) AS retried
        FROM bench_big_sub s
        CROSS JOIN LATERAL (SELECT CASE WHEN s.interval = 'year' THEN 12 ELSE 1 END AS m) per
        CROSS JOIN LATERAL generate_series(0, s.h) AS k
        WHERE s.status <> 'trialing'
          AND s.started_at + make_interval(months => k * per.m) <
              (SELECT gen_at FROM bench_big_param_v)
        """
    )
    cur.execute(
        """
        INSERT INTO billing_invoice (organization_id, customer_id, subscription_id, currency,
            status, billing_reason, number, sequence_number, period_start, period_end,
            created_at, issued_at, due_at, paid_at, voided_at, subtotal_minor, discount_minor,
            tax_minor, total_minor, credit_applied_minor, amount_due_minor, amount_paid_minor,
            collection_method, coupon_id, memo)
        SELECT p.org, i.customer_id, i.subscription_id, 'CLP', i.inv_status,
               CASE WHEN i.k = 0 THEN 'subscription_create' ELSE 'subscription_cycle' END,
               'F-' || lpad(seq::text, 7, '0'), seq, i.period_start, i.period_end,
               i.period_start, i.period_start, i.period_start,
               CASE WHEN i.inv_status = 'paid' THEN i.period_start
                   + CASE WHEN i.retried THEN interval '3 days' ELSE interval '1 minute' END
               END,
               NULL, i.subtotal, 0, round(i.subtotal * 0.19), i.subtotal + round(i.subtotal * 0.19),
               0, i.subtotal + round(i.subtotal * 0.19),
               CASE WHEN i.inv_status = 'paid' THEN i.subtotal + round(i.subtotal * 0.19)
                    ELSE 0 END,
               'charge_automatically', NULL, ''
        FROM (SELECT *, row_number() OVER (ORDER BY period_start, subscription_id) AS seq
              FROM bench_big_inv) i
        CROSS JOIN bench_big_param_v p
        ORDER BY seq
        """
    )
    rows = cur.rowcount
    cur.execute(
        """
        INSERT INTO billing_documentsequence (organization_id, doc_type, prefix, padding,
            last_value)
        SELECT (SELECT org FROM bench_big_param_v), 'invoice', 'F-', 7, %s
        """,
        [rows],
    )
    return rows


def _lines_and_taxes(cur) -> int:
    cur.execute(
        """
        INSERT INTO billing_invoiceline (organization_id, invoice_id, position, kind,
            description, quantity, unit_amount_minor, amount_minor, price_id, tax_rate_id,
            tax_inclusive, period_start, period_end)
        SELECT i.organization_id, i.id, 0, 'subscription', pr.name, s.quantity,
               pc.amount_minor, i.subtotal_minor, s.price_id, pc.tax_rate_id, false,
               i.period_start, i.period_end
        FROM billing_invoice i
        JOIN billing_subscription s ON s.id = i.subscription_id
        JOIN billing_price pc ON pc.id = s.price_id
        JOIN billing_product pr ON pr.id = pc.product_id
        WHERE i.organization_id = (SELECT org FROM bench_big_param_v)
        """
    )
    rows = cur.rowcount
    cur.execute(
        """
        INSERT INTO billing_invoicetax (organization_id, invoice_id, tax_rate_id, name,
            percentage, inclusive, taxable_base_minor, amount_minor)
        SELECT i.organization_id, i.id, t.id, 'IVA', 19, false, i.subtotal_minor, i.tax_minor
        FROM billing_invoice i
        JOIN billing_taxrate t ON t.organization_id = i.organization_id
        WHERE i.organization_id = (SELECT org FROM bench_big_param_v)
        """
    )
    return rows + cur.rowcount


def _payments(cur) -> int:
    """Attempt 1 for every issued invoice (failed when the invoice was retried or is still
    open or uncollectible), attempt 2 (a succeeded retry) for retried paid invoices."""
    cur.execute(
        """
        INSERT INTO payments_paymentattempt (organization_id, invoice_id, customer_id,
            payment_method_id, attempt_number, idempotency_key, status, trigger, gateway,
            amount_minor, currency, refunded_minor, gateway_reference, decline_code,
            decline_message, hard_decline, disputed, created_at, sent_at, completed_at)
        SELECT i.organization_id, i.id, i.customer_id, m.id, a.n,
               'bench-' || i.id || '-' || a.n,
               CASE WHEN a.n = 2 OR (i.status = 'paid' AND i.paid_at < i.created_at
                                     + interval '1 hour') THEN 'succeeded' ELSE 'failed' END,
               CASE WHEN a.n = 1 THEN 'automatic' ELSE 'retry' END, m.gateway,
               i.total_minor, 'CLP', 0, 'bench_' || i.id || '_' || a.n,
               CASE WHEN a.n = 2 OR (i.status = 'paid' AND i.paid_at < i.created_at
                                     + interval '1 hour') THEN '' ELSE 'card_declined' END,
               '', false, false,
               i.created_at + (a.n - 1) * interval '3 days',
               i.created_at + (a.n - 1) * interval '3 days',
               i.created_at + (a.n - 1) * interval '3 days' + interval '2 seconds'
        FROM billing_invoice i
        JOIN payments_paymentmethod m ON m.customer_id = i.customer_id
        CROSS JOIN LATERAL generate_series(1,
            CASE WHEN i.status = 'paid' AND i.paid_at > i.created_at + interval '1 hour'
                 THEN 2 ELSE 1 END) AS a(n)
        WHERE i.organization_id = (SELECT org FROM bench_big_param_v)
        ORDER BY i.created_at, i.id, a.n
        """
    )
    return cur.rowcount


def _events(cur) -> int:
    """``subscription.*`` events as the services write them: created (quantity 1 before an
    upgrade), renewed per later period, updated (the upgrade), and the final status change."""
    cur.execute(
        """
        INSERT INTO cobro_outboxevent (id, organization_id, type, payload, subject_type,
            subject_id, created_at, dispatched_at, attempts, last_error, next_attempt_at)
        SELECT gen_random_uuid(), p.org, e.type,
               jsonb_build_object('subscription_id', s.subscription_id,
                   'customer_id', s.customer_id, 'price_id', s.price_id,
                   'quantity', e.quantity, 'status', e.status,
                   'current_period_start', e.at, 'current_period_end', e.at),
               'billing.subscription', s.subscription_id::text, e.at, e.at, 1, '', e.at
        FROM bench_big_sub s
        CROSS JOIN bench_big_param_v p
        CROSS JOIN LATERAL (SELECT CASE WHEN s.interval = 'year' THEN 12 ELSE 1 END AS m) per
        CROSS JOIN LATERAL (
            SELECT 'subscription.created' AS type, s.started_at AS at,
                   CASE WHEN s.status = 'trialing' THEN 'trialing' ELSE 'active' END AS status,
                   1 AS quantity, 0 AS ord
            UNION ALL
            SELECT 'subscription.renewed', s.started_at + make_interval(months => k * per.m),
                   'active', CASE WHEN s.upgraded AND k >= 2 THEN 2 ELSE 1 END, k
            FROM generate_series(1, s.h) AS k
            WHERE s.status <> 'trialing'
              AND s.started_at + make_interval(months => k * per.m)
                  < (SELECT gen_at FROM bench_big_param_v)
            UNION ALL
            SELECT 'subscription.updated', LEAST(s.started_at + make_interval(months => per.m)
                   + interval '3 days', p.gen_at - interval '1 hour'), 'active', 2, 1
            WHERE s.upgraded
            UNION ALL
            SELECT CASE s.status WHEN 'canceled' THEN 'subscription.canceled'
                       WHEN 'paused' THEN 'subscription.paused'
                       ELSE 'subscription.updated' END,
                   LEAST(s.started_at + make_interval(months => s.h * per.m)
                       + CASE WHEN s.status = 'paused' THEN interval '1 day'
                              ELSE interval '10 days' END, p.gen_at - interval '30 minutes'),
                   s.status, s.quantity, 1000
            WHERE s.status IN ('canceled', 'paused', 'past_due', 'unpaid')
        ) e
        WHERE e.at < (SELECT gen_at FROM bench_big_param_v)
        ORDER BY e.at, s.subscription_id, e.ord
        """
    )
    return cur.rowcount


def _mrr_ledger(cur) -> int:
    """Build the organization's MRR ledger from its subscription events, set-based: the same
    rows the trigger of migration billing.0003 writes event by event (tests prove the trigger
    equals the reference definitions in billing.metrics; ``bench_dashboard`` cross-checks
    this build against them on the big data set)."""
    cur.execute("SELECT to_regclass('billing_mrrmovement') IS NOT NULL")
    if not cur.fetchone()[0]:
        return 0
    for table in ("billing_mrrmovement", "billing_mrrsubscriptionstate",
                  "billing_mrrcustomerstate", "billing_metricsbucket"):  # fmt: skip
        cur.execute(
            f"DELETE FROM {table} WHERE organization_id = (SELECT org FROM bench_big_param_v)"
        )
    cur.execute(
        """
        CREATE TEMP TABLE bench_big_ev ON COMMIT DROP AS
        SELECT e.organization_id AS org, e.subject_id::bigint AS sub,
               (e.payload->>'customer_id')::bigint AS customer, p.currency, e.created_at,
               e.id,
               CASE WHEN e.payload->>'status' IN ('active', 'past_due')
                    THEN p.amount_minor * (e.payload->>'quantity')::bigint
                         * CASE p.interval WHEN 'day' THEN 365 WHEN 'week' THEN 52
                                           WHEN 'month' THEN 12 ELSE 1 END
                    ELSE 0 END AS num,
               p.interval_count AS cnt
        FROM cobro_outboxevent e
        JOIN billing_price p ON p.id = (e.payload->>'price_id')::bigint
        WHERE e.organization_id = (SELECT org FROM bench_big_param_v)
          AND e.subject_type = 'billing.subscription' AND e.type LIKE 'subscription.%'
        """
    )
    cur.execute(
        """
        CREATE TEMP TABLE bench_big_mv ON COMMIT DROP AS
        WITH seq AS (
            SELECT *, COALESCE(LAG(num) OVER w, 0) AS prev_num,
                   COALESCE(LAG(cnt) OVER w, cnt) AS prev_cnt,
                   COALESCE(MAX(num) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                             AND 1 PRECEDING), 0) AS max_before
            FROM bench_big_ev
            WINDOW w AS (PARTITION BY sub, currency ORDER BY created_at, id)
        ), classified AS (
            SELECT *, CASE
                WHEN prev_num = 0 AND num > 0 THEN
                    CASE WHEN max_before > 0 THEN 'reactivation' ELSE 'new' END
                WHEN prev_num > 0 AND num = 0 THEN 'churn'
                WHEN num * prev_cnt > prev_num * cnt THEN 'expansion'
                WHEN num * prev_cnt < prev_num * cnt THEN 'contraction' END AS kind,
                CASE WHEN prev_num = 0 AND num > 0 THEN 1
                     WHEN prev_num > 0 AND num = 0 THEN -1 ELSE 0 END AS paying
            FROM seq
        )
        SELECT *, SUM(paying) OVER (PARTITION BY customer, currency ORDER BY created_at, id)
                  AS paying_after
        FROM classified WHERE kind IS NOT NULL
        """
    )
    # A customer's paying interval starts at their +1 row: each -1 row remembers it.
    cur.execute(
        """
        CREATE TEMP TABLE bench_big_cd ON COMMIT DROP AS
        SELECT id, customer, currency, created_at,
               CASE WHEN paying = 1 AND paying_after = 1 THEN 1 ELSE -1 END AS delta,
               LAG(created_at) OVER (PARTITION BY customer, currency ORDER BY created_at, id)
                   AS since
        FROM bench_big_mv
        WHERE (paying = 1 AND paying_after = 1) OR (paying = -1 AND paying_after = 0)
        """
    )
    cur.execute(
        """
        INSERT INTO billing_mrrmovement (organization_id, subscription_id, customer_id, currency,
            occurred_at, kind, prev_num, prev_cnt, cur_num, cur_cnt, customer_delta,
            paying_since)
        SELECT mv.org, mv.sub, mv.customer, mv.currency, mv.created_at, mv.kind, mv.prev_num,
               mv.prev_cnt, mv.num, mv.cnt, COALESCE(cd.delta, 0),
               CASE WHEN cd.delta = -1 THEN cd.since END
        FROM bench_big_mv mv LEFT JOIN bench_big_cd cd ON cd.id = mv.id
        ORDER BY mv.created_at, mv.id
        """
    )
    rows = cur.rowcount
    cur.execute(
        """
        INSERT INTO billing_mrrsubscriptionstate (organization_id, subscription_id, currency,
            customer_id, num, cnt, max_num)
        SELECT DISTINCT ON (sub, currency) org, sub, currency, customer, num, cnt,
               MAX(num) OVER (PARTITION BY sub, currency)
        FROM bench_big_ev ORDER BY sub, currency, created_at DESC, id DESC
        """
    )
    cur.execute(
        """
        INSERT INTO billing_mrrcustomerstate (organization_id, customer_id, currency,
            paying_subscriptions, paying_since)
        SELECT mv.org, mv.customer, mv.currency, SUM(mv.paying), MAX(cd.since)
        FROM bench_big_mv mv
        LEFT JOIN (SELECT customer, currency, max(created_at) AS since FROM bench_big_cd
                   WHERE delta = 1 GROUP BY customer, currency) cd
          ON cd.customer = mv.customer AND cd.currency = mv.currency
        GROUP BY mv.org, mv.customer, mv.currency
        """
    )
    return rows


def _cleanup(cur) -> int:
    for table in ("bench_big_map", "bench_big_price", "bench_big_sub", "bench_big_inv"):
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return 0


def generate(*, subscriptions: int, months: int) -> dict:
    """Fill (or reuse) the organization; return its parameters."""
    from django.db import connection

    started = time.perf_counter()
    _step("organization", _organization, subscriptions, months)
    with connection.cursor() as cur:
        _param_views(cur)
        cur.execute("SELECT name, value FROM bench_big_param")
        params = dict(cur.fetchall())
    if (params["subscriptions"], params["months"]) != (subscriptions, months):
        print(
            f"  reusing the existing data set: {params['subscriptions']:,} subscriptions, "
            f"{params['months']} months (pass --fresh to rebuild with other sizes)"
        )
    _step("customers", _customers)
    _step("subscriptions", _subscriptions)
    _step("payment_methods", _payment_methods)
    _step("invoices", _invoices)
    _step("lines_and_taxes", _lines_and_taxes)
    _step("payments", _payments)
    _step("events", _events)
    _step("mrr_ledger", _mrr_ledger)
    _step("cleanup", _cleanup)
    _step("analyze", _analyze)
    params["seconds"] = time.perf_counter() - started
    return params


def _analyze(cur) -> int:
    cur.execute("ANALYZE")
    return 0


def vacuum() -> None:
    """VACUUM (outside a transaction) so index-only scans see an all-visible heap."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    previous = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as cur:
            for table in (
                "customers_customer", "billing_subscription", "billing_invoice",
                "payments_paymentattempt", "cobro_outboxevent", "payments_paymentmethod",
                "billing_mrrmovement", "billing_mrrsubscriptionstate",
                "billing_mrrcustomerstate",
            ):  # fmt: skip
                cur.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        raw.autocommit = previous


def summary() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT value FROM bench_big_param WHERE name = 'org'")
        org = cur.fetchone()[0]
        out = {"organization_id": org}
        for label, table in (
            ("customers", "customers_customer"),
            ("subscriptions", "billing_subscription"),
            ("invoices", "billing_invoice"),
            ("payment attempts", "payments_paymentattempt"),
            ("outbox events", "cobro_outboxevent"),
        ):
            # Planner estimate: exact counts of millions of rows cost seconds.
            cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            out[label] = int(cur.fetchone()[0])
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=4)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args(argv)
    configure(fresh=args.fresh)
    print(f"generating into {BENCH_DB} (re-entrant; finished steps are skipped)", flush=True)
    params = generate(subscriptions=args.subscriptions, months=args.months)
    vacuum()
    print(f"  ready in {params['seconds']:.0f} s: {summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
