"""Fixtures of the billing staff pages: signed-in clients per role and realistic catalog data
made through the real services."""

from __future__ import annotations

import pytest

from billing.models import TaxBehavior
from billing.services.catalog import coupon_create, price_create, product_create, tax_rate_create
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory


def _client_for(client_class, org, role: str, email: str):
    user = UserFactory(email=email)
    MembershipFactory(organization=org, user=user, role=role)
    c = client_class()
    c.force_login(user)
    return c


@pytest.fixture
def viewer_client(org):
    from django.test import Client

    return _client_for(Client, org, "viewer", "viewer@acme.test")


@pytest.fixture
def billing_client(org):
    from django.test import Client

    return _client_for(Client, org, "billing", "billing@acme.test")


@pytest.fixture
def other_owner_client(other_org):
    from django.test import Client

    return _client_for(Client, other_org, "owner", "owner@globex.test")


@pytest.fixture
def catalog(org):
    """IVA 19% (added on top), "Plan Pro" at $12.990 CLP a month, a 10% coupon, a customer."""
    with use_organization(org):
        iva = tax_rate_create(organization=org, name="IVA", percentage="19", country="CL")
        product = product_create(organization=org, name="Plan Pro", description="Todo incluido")
        price = price_create(
            product=product,
            currency="CLP",
            amount_minor=12_990,
            tax_behavior=TaxBehavior.EXCLUSIVE,
            tax_rate=iva,
            nickname="Mensual",
        )
        premium = price_create(product=product, currency="CLP", amount_minor=29_990)
        coupon = coupon_create(
            organization=org, code="bienvenida", name="Bienvenida", percent_off=10
        )
        customer = CustomerFactory(organization=org, name="Panadería Las Rosas")
    return {
        "iva": iva,
        "product": product,
        "price": price,
        "premium": premium,
        "coupon": coupon,
        "customer": customer,
    }


@pytest.fixture
def sub(org, catalog):
    """An active monthly subscription, its first invoice already issued."""
    with use_organization(org):
        return subscription_create(customer=catalog["customer"], price=catalog["price"], quantity=2)
