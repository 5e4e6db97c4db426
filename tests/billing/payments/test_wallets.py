"""Wallet payment methods: a card held in a wallet (Apple Pay, Google Pay, Link at Stripe; the
sandbox's test wallet), saved as ``type=wallet`` and charged off-session like a card."""

from __future__ import annotations

import pytest
from django.utils import translation

from billing.gateways.stripe import saved_method_from_stripe
from billing.payments.models import AttemptStatus, PaymentMethod, PaymentMethodType
from billing.payments.services.charging import invoice_pay_now
from billing.payments.services.methods import payment_method_add_card
from tests.billing.payments.conftest import open_invoice
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_sandbox_wallet_is_saved_as_a_wallet_and_pays_an_invoice(in_org, org):
    customer = CustomerFactory(organization=org)
    method = payment_method_add_card(
        customer=customer, gateway="sandbox", token="tok_sandbox_wallet_success"
    )
    assert method.type == PaymentMethodType.WALLET and method.wallet == "sandbox_wallet"
    with translation.override("en"):
        assert str(method) == "Test wallet · visa •••• 4242"
    invoice = open_invoice(customer, 5_000)
    attempt = invoice_pay_now(invoice=invoice)
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.payment_method_id == method.pk
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_declining_wallet_card_fails_like_a_card(in_org, org):
    customer = CustomerFactory(organization=org)
    payment_method_add_card(
        customer=customer, gateway="sandbox", token="tok_sandbox_wallet_insufficient_funds"
    )
    attempt = invoice_pay_now(invoice=open_invoice(customer, 5_000))
    assert (attempt.status, attempt.decline_code) == (AttemptStatus.FAILED, "insufficient_funds")


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (
            {
                "id": "pm_1",
                "type": "card",
                "card": {
                    "brand": "visa",
                    "last4": "4242",
                    "exp_month": 1,
                    "exp_year": 2031,
                    "wallet": {"type": "apple_pay"},
                },
            },
            ("wallet", "apple_pay", "visa", "4242"),
        ),
        (
            {
                "id": "pm_2",
                "type": "card",
                "card": {
                    "brand": "mastercard",
                    "last4": "4444",
                    "exp_month": 1,
                    "exp_year": 2031,
                    "wallet": {"type": "google_pay"},
                },
            },
            ("wallet", "google_pay", "mastercard", "4444"),
        ),
        ({"id": "pm_3", "type": "link", "link": {"email": "a@b.c"}}, ("wallet", "link", "", "")),
        (
            {
                "id": "pm_4",
                "type": "card",
                "card": {
                    "brand": "visa",
                    "last4": "0341",
                    "exp_month": 1,
                    "exp_year": 2031,
                    "wallet": None,
                },
            },
            ("card", "", "visa", "0341"),
        ),
        (  # a wallet we cannot charge off-session stays a card
            {
                "id": "pm_5",
                "type": "card",
                "card": {
                    "brand": "visa",
                    "last4": "1111",
                    "exp_month": 1,
                    "exp_year": 2031,
                    "wallet": {"type": "masterpass"},
                },
            },
            ("card", "", "visa", "1111"),
        ),
    ],
)
def test_stripe_wallet_payment_methods_are_recognised(method, expected):
    saved = saved_method_from_stripe(method)
    assert (saved.type, saved.wallet, saved.brand, saved.last4) == expected
    assert saved.token == method["id"]


def test_wallet_label_for_display(org):
    method = PaymentMethod(type="wallet", wallet="apple_pay", brand="visa", last4="4242")
    assert method.wallet_label == "Apple Pay"
    assert str(method) == "Apple Pay · visa •••• 4242"
    assert PaymentMethod(type="card", brand="visa", last4="1").wallet_label == ""
