from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.services.invoices import ManualItem, invoice_create_one_off, invoice_mark_paid
from tests.billing.factories import CustomerFactory

# 2025-03-10 12:00 in Santiago.
T0 = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Ana Pérez", email="ana@acme.test")


def paid_invoice(customer, *, amount=10_000, at=T0):
    invoice = invoice_create_one_off(
        customer=customer, currency="CLP", items=[ManualItem("Servicio", amount)], now=at
    )
    return invoice_mark_paid(invoice=invoice, now=at)


def token_of(url: str) -> str:
    """The token part of a one-click answer URL (…/feedback/r/<token>/<score>/)."""
    return url.rstrip("/").split("/")[-2]
