from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.billing.factories import CustomerFactory, PriceFactory, TaxRateFactory


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org)


@pytest.fixture
def iva(org):
    return TaxRateFactory(organization=org)


@pytest.fixture
def monthly(org):
    return PriceFactory(organization=org, amount_minor=10_000)


@pytest.fixture
def t0():
    # 2025-03-10 12:00 in Santiago (UTC-3 in March).
    return datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
