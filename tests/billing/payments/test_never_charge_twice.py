"""The guarantees that money depends on, under real concurrency and real crashes."""

import os
import random
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from billing.models import Invoice, InvoiceStatus
from billing.payments.error_codes import PaymentError
from billing.payments.models import IN_FLIGHT, PaymentAttempt
from billing.payments.services.charging import (
    invoice_pay_now,
    payment_attempt_create,
    payment_attempt_execute,
    payments_janitor_run,
)
from cobro import clock
from tests.billing.payments.conftest import card_customer, open_invoice, successful_gateway_charges
from tests.factories import OrganizationFactory

BASE_DIR = Path(__file__).resolve().parents[3]


def _automatic_charge(invoice, barrier, errors):
    try:
        barrier.wait()
        try:
            attempt = payment_attempt_create(invoice=invoice, trigger="automatic")
        except PaymentError:
            return
        payment_attempt_execute(attempt_id=attempt.pk)
    except Exception as exc:  # surfaced by the test
        errors.append(exc)
    finally:
        connection.close()


def _pay_now(invoice, barrier, errors):
    try:
        barrier.wait()
        try:
            invoice_pay_now(invoice=invoice)
        except PaymentError:
            return
    except Exception as exc:
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_pay_now_racing_the_automatic_charge_200_times_charges_at_most_once():
    org = OrganizationFactory(slug="race")
    customer = card_customer(org)
    errors: list[Exception] = []
    for _ in range(200):
        invoice = open_invoice(customer, 5_000)
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=_automatic_charge, args=(invoice, barrier, errors)),
            threading.Thread(target=_pay_now, args=(invoice, barrier, errors)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    invoices = list(Invoice.unscoped.filter(organization=org))
    assert len(invoices) == 200
    for invoice in invoices:
        assert successful_gateway_charges(invoice) == 1
        assert invoice.status == InvoiceStatus.PAID
        assert PaymentAttempt.unscoped.filter(invoice=invoice, status="succeeded").count() == 1


def _charge_run_env(latency_ms: int) -> dict:
    db = connection.settings_dict
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # a socket directory on the embedded default
    url = f"postgres://{db['USER'] or 'postgres'}@{host}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "DATABASE_URL": f"{url}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "cobro.settings_test",
        "COBRO_SANDBOX_LATENCY_MS": str(latency_ms),
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_at_random_points_20_times_then_janitor_leaves_no_double_charge():
    org = OrganizationFactory(slug="crash")
    customers = [card_customer(org, "timeout" if i == 0 else "success") for i in range(4)]
    rng = random.Random(4)  # noqa: S311
    env = _charge_run_env(latency_ms=25)
    killed_mid_run = 0
    for _ in range(20):
        for customer in customers:
            invoice = open_invoice(customer, rng.randint(1_000, 50_000))
            payment_attempt_create(invoice=invoice, trigger="automatic")
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "payments_execute_pending", "--skip-checks"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # "executing N attempts": Django is up, charging begins
        threading.Event().wait(rng.uniform(0, 0.15))
        if proc.poll() is None:
            killed_mid_run += 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert killed_mid_run >= 15  # the kills really landed inside charge runs
    # Time passes; the janitor (which only asks the gateway, or re-enqueues unsent attempts)
    # settles everything. Eager Celery runs the re-enqueued attempts here.
    for _ in range(3):
        payments_janitor_run(now=clock.now() + timedelta(minutes=10), stale_after=timedelta(0))
    assert not PaymentAttempt.unscoped.filter(status__in=IN_FLIGHT).exists()
    invoices = list(Invoice.unscoped.filter(organization=org))
    assert len(invoices) == 80
    for invoice in invoices:
        charged = successful_gateway_charges(invoice)
        assert charged <= 1, f"invoice {invoice.pk} charged {charged} times"
        assert (invoice.status == InvoiceStatus.PAID) == (charged == 1)
        assert PaymentAttempt.unscoped.filter(invoice=invoice).exists()
