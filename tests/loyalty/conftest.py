from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.services.invoices import ManualItem, invoice_create_one_off, invoice_mark_paid
from loyalty.models import LoyaltyProgramme, Reward
from tests.billing.factories import CustomerFactory

# 2025-03-10 12:00 in Santiago.
T0 = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def programme(org):
    return LoyaltyProgramme.unscoped.create(
        organization=org,
        enabled=True,
        name="Club",
        points_per_on_time_payment=100,
        points_per_amount=1,
        amount_unit_major=1000,
        streak_length=3,
        streak_bonus_points=150,
        welcome_points=0,
        grace_days=2,
    )


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Ana Pérez")


def paid_invoice(customer, *, amount=10_000, issued=T0, paid=None, days_until_due=0):
    """A one-off CLP invoice issued at ``issued`` and paid at ``paid`` (default: on issue)."""
    from billing.models import BillingSettings

    BillingSettings.unscoped.update_or_create(
        organization=customer.organization, defaults={"days_until_due": days_until_due}
    )
    invoice = invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem("Servicio", amount)],
        now=issued,
    )
    if invoice.status == "paid":  # the customer's credit balance already paid it
        return invoice
    return invoice_mark_paid(invoice=invoice, now=paid or issued)


@pytest.fixture
def credit_reward(org):
    return Reward.unscoped.create(
        organization=org,
        name="Crédito 5000",
        kind=Reward.Kind.INVOICE_CREDIT,
        points_cost=200,
        credit_amount_minor=5_000,
        currency="CLP",
        created_at=T0,
    )


@pytest.fixture
def gift_reward(org):
    return Reward.unscoped.create(
        organization=org,
        name="Taza",
        kind=Reward.Kind.GIFT,
        points_cost=100,
        stock=2,
        per_customer_limit=1,
        created_at=T0,
    )
