from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.services.invoices import ManualItem, invoice_create_one_off
from billing.services.subscriptions import subscription_create
from tests.billing.factories import PriceFactory, ProductFactory, TaxRateFactory
from tests.customers.factories import CustomerFactory
from tests.customers.messaging.smtp import smtp_server  # noqa: F401 - fixture


@pytest.fixture
def t0():
    return datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def branded_org(org):
    org.legal_name = "Acme Servicios Digitales SpA"
    org.tax_id = "76.123.456-7"
    org.address = "Av. Providencia 1234, of. 501\nProvidencia, Santiago"
    org.brand_color = "#0f766e"
    org.save()
    return org


@pytest.fixture
def cl_customer(branded_org):
    return CustomerFactory(
        organization=branded_org,
        name="Panadería Los Aromos Ltda.",
        email="pagos@losaromos.cl",
        tax_id="77.888.999-K",
        address_line1="Los Aromos 455",
        city="Ñuñoa",
        region="Región Metropolitana",
        locale="es-419",
    )


@pytest.fixture
def iva(branded_org):
    return TaxRateFactory(organization=branded_org)


@pytest.fixture
def subscription_invoice(in_org, branded_org, cl_customer, iva, t0):
    """A typical monthly invoice: Plan Pro 2 x $12.990 + IVA 19% -> $30.916."""
    product = ProductFactory(organization=branded_org, name="Plan Pro")
    price = PriceFactory(
        organization=branded_org,
        product=product,
        amount_minor=12_990,
        tax_rate=iva,
        tax_behavior="exclusive",
    )
    sub = subscription_create(customer=cl_customer, price=price, quantity=2, now=t0)
    return sub.invoices.get()


def long_invoice(customer, iva, *, lines: int, now):
    items = [
        ManualItem(
            description=f"Servicio de soporte técnico, visita {i + 1}",
            unit_amount_minor=10_000 + i * 10,
            quantity=1 + i % 3,
            tax_rate=iva,
        )
        for i in range(lines)
    ]
    return invoice_create_one_off(customer=customer, currency="CLP", items=items, now=now)
