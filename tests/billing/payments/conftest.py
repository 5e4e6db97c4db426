"""Fixtures of payments tests: customers with sandbox cards and open invoices."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from billing.models import CollectionMethod
from billing.payments.models import PaymentAttempt, SandboxCharge
from billing.payments.services.methods import payment_method_add_card
from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro.events import events_dispatch_pending
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory


def card_customer(org, behaviour: str = "success", **kwargs):
    with use_organization(org):
        customer = CustomerFactory(organization=org, **kwargs)
    payment_method_add_card(customer=customer, gateway="sandbox", token=f"tok_sandbox_{behaviour}")
    return customer


def open_invoice(customer, amount_minor: int = 10_000, now=None):
    return invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem(description="Plan mensual", unit_amount_minor=amount_minor)],
        collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
        now=now,
    )


def successful_gateway_charges(invoice) -> int:
    """What the 'provider' actually charged for ``invoice`` (its own ledger)."""
    keys = PaymentAttempt.unscoped.filter(invoice=invoice).values_list("idempotency_key")
    return SandboxCharge.unscoped.filter(idempotency_key__in=keys, status="succeeded").count()


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks, monkeypatch):
    """Dispatch the outbox and run what it enqueued after commit (eager Celery in tests).
    Only the payments handlers run: other apps' handlers are tested by their own suites."""
    from cobro import events

    original = events.handlers_for
    monkeypatch.setattr(
        events,
        "handlers_for",
        lambda t: [(n, fn) for n, fn in original(t) if n.startswith("payments.")],
    )

    def run():
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                done = events_dispatch_pending()
            if not done and not callbacks:
                break

    return run


# --- localstripe: a real local Stripe fake, driven through the official SDK ------------------
LOCALSTRIPE_SCRIPT = Path(__file__).with_name("localstripe_server.py")
STRIPE_TEST_KEY = "sk_test_cobro_localstripe"
STRIPE_WEBHOOK_SECRET = "whsec_cobro_test_secret"


@pytest.fixture(scope="session")
def localstripe_url():
    """localstripe in a subprocess on 127.0.0.1 and a free port, for the whole session."""
    proc = subprocess.Popen(
        [sys.executable, str(LOCALSTRIPE_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = int(proc.stdout.readline().strip())
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture
def stripe_org(org, localstripe_url, settings):
    """``org`` with Stripe configured against a freshly reset localstripe."""
    import json

    from billing.payments.models import GatewayAccount

    urllib.request.urlopen(  # noqa: S310 - the local fake
        urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")
    ).close()
    settings.STRIPE_API_BASE = localstripe_url
    GatewayAccount.unscoped.create(
        organization=org,
        gateway="stripe",
        credentials=json.dumps({"secret_key": STRIPE_TEST_KEY, "publishable_key": "pk_test_x"}),
        webhook_secret=STRIPE_WEBHOOK_SECRET,
    )
    return org


def stripe_browser_confirms_setup(localstripe_url: str, start, number: str) -> str:
    """What Stripe.js does in the customer's browser: create a PaymentMethod from the card
    fields and confirm the SetupIntent with its client secret. Returns the SetupIntent id.
    (localstripe only accepts a publishable key on a few routes, so the fake browser uses the
    test secret key; our server code is the same either way.)"""
    import stripe

    client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": localstripe_url})
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.setup_intents.confirm(
        start.setup_intent_id,
        params={"payment_method": pm.id, "client_secret": start.client_secret},
    )
    return start.setup_intent_id


def stripe_card_customer(org, localstripe_url: str, number: str = "4242424242424242", **kw):
    from billing.payments.services.methods import card_setup_start, payment_method_add_card

    with use_organization(org):
        customer = CustomerFactory(organization=org, **kw)
    start = card_setup_start(customer=customer, gateway="stripe")
    seti = stripe_browser_confirms_setup(localstripe_url, start, number)
    payment_method_add_card(customer=customer, gateway="stripe", token=seti)
    return customer
