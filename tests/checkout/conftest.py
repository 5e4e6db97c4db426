"""Fixtures of the checkout tests: a Chilean shop (IVA 19% included in prices) with a
published pricing page, a monthly and a yearly price of one product, and helpers to fill the
checkout the way the browser would (the sandbox card field posts a token, never a number)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from billing.models import TaxRate
from checkout.models import PricingPage
from checkout.services.checkout import CheckoutInput
from checkout.services.settings import public_price_set
from tests.billing.factories import CouponFactory, PriceFactory, ProductFactory
from tests.customers.factories import valid_rut


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def iva(org):
    return TaxRate.unscoped.create(
        organization=org, name="IVA", percentage=Decimal("19"), inclusive=True, country="CL"
    )


@pytest.fixture
def pricing_page(org):
    return PricingPage.unscoped.create(
        organization=org,
        enabled=True,
        headline="Planes de café",
        terms_text="Se renueva cada mes.",
        require_tax_id=True,
        allow_bank_transfer=True,
    )


@pytest.fixture
def product(org):
    return ProductFactory(organization=org, name="Café Oficina")


@pytest.fixture
def monthly(org, product, iva, pricing_page):
    price = PriceFactory(
        organization=org,
        product=product,
        amount_minor=11_900,
        tax_behavior="inclusive",
        tax_rate=iva,
        nickname="Mensual",
    )
    public_price_set(price=price, public=True, position=1)
    return price


@pytest.fixture
def yearly(org, product, iva, pricing_page):
    price = PriceFactory(
        organization=org,
        product=product,
        amount_minor=119_000,
        interval="year",
        tax_behavior="inclusive",
        tax_rate=iva,
        nickname="Anual",
    )
    public_price_set(price=price, public=True, position=2)
    return price


@pytest.fixture
def coupon(org):
    return CouponFactory(
        organization=org, code="BIENVENIDA", name="Bienvenida", percent_off=Decimal("20")
    )


def checkout_input(n: int = 1, **overrides) -> CheckoutInput:
    values = {
        "name": f"Cliente Nuevo {n}",
        "email": f"nuevo{n}@example.cl",
        "tax_id": valid_rut(500 + n),
        "address_line1": "Av. Providencia 1234",
        "city": "Santiago",
        "payment_choice": "card",
        "accept_terms": True,
        "card_token": "tok_sandbox_success",
        "card_gateway": "sandbox",
    }
    values.update(overrides)
    return CheckoutInput(**values)


def form_data(checkout_token: str, n: int = 1, **overrides) -> dict:
    data = {
        "checkout_token": checkout_token,
        "name": f"Cliente Web {n}",
        "email": f"web{n}@example.cl",
        "tax_id": valid_rut(700 + n),
        "address_line1": "Los Leones 55",
        "city": "Santiago",
        "payment_choice": "card",
        "accept_terms": "on",
        "token": "tok_sandbox_success",
        "gateway": "sandbox",
        "website": "",
    }
    data.update(overrides)
    return data
