"""One checkout submitted concurrently (a double click that reached two workers, a network
retry racing the original) creates one customer, one subscription and one charge. Real
threads, real transactions: the unique session token and the invoice lock decide."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from billing.models import Invoice, Subscription
from billing.payments.models import PaymentAttempt, SandboxCharge
from checkout.models import CheckoutSession
from checkout.services.checkout import checkout_retry_card, checkout_submit, offer_for_price
from customers.models import Customer
from tests.checkout.conftest import checkout_input

THREADS = 6


def _race(fn, n=THREADS):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(fn())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_create_one_subscription_and_one_charge(org, monthly, settings):
    settings.COBRO_SANDBOX_LATENCY_MS = 150  # widen the window of the race
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    results, errors = _race(
        lambda: checkout_submit(offer=offer, token="race-token-0001", data=checkout_input())
    )
    assert not errors, errors
    assert len({s.pk for s in results}) == 1
    assert CheckoutSession.unscoped.filter(organization=org).count() == 1
    assert Customer.unscoped.filter(organization=org).count() == 1
    assert Subscription.unscoped.filter(organization=org).count() == 1
    invoice = Invoice.unscoped.get(organization=org)
    assert invoice.status == "paid"
    assert PaymentAttempt.unscoped.filter(invoice=invoice).count() == 1
    assert SandboxCharge.unscoped.filter(organization=org, status="succeeded").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_charge_at_most_once(org, monthly, settings):
    settings.COBRO_SANDBOX_LATENCY_MS = 150
    offer = offer_for_price(organization=org, price_id=monthly.pk)
    session = checkout_submit(
        offer=offer,
        token="race-token-0002",
        data=checkout_input(card_token="tok_sandbox_generic_decline"),
    )
    assert session.status == "awaiting_payment"

    def retry():
        try:
            return checkout_retry_card(
                session=session, gateway="sandbox", token="tok_sandbox_success"
            )
        except Exception as exc:  # the losers may find it no longer retryable
            return exc

    results, errors = _race(retry, n=4)
    assert not errors, errors
    session.refresh_from_db()
    assert session.status == "completed"
    assert Subscription.unscoped.get(pk=session.subscription_id).status == "active"
    assert SandboxCharge.unscoped.filter(organization=org, status="succeeded").count() == 1
