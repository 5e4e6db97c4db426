"""Fixtures of the portal tests: a customer of ``org`` with a subscription, and clients
signed in to the portal (the session is set directly; sign-in itself is tested end to end in
test_signin.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from customers.portal.session import SESSION_KEY
from tests.billing.factories import PriceFactory, ProductFactory
from tests.customers.factories import CustomerFactory


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English; the Spanish default is covered by test_i18n.py."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _clean_rate_limits():
    # Rate limits and lockouts live in the cache, which outlives a test's transaction.
    cache.clear()
    yield
    cache.clear()


def portal_client(customer) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = {"org": customer.organization_id, "customer": customer.pk}
    session.save()
    return client


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Ana Pérez", email="ana@acme.test")


@pytest.fixture
def other_customer(org):
    return CustomerFactory(organization=org, name="Bruno Soto", email="bruno@acme.test")


@pytest.fixture
def plans(org):
    """Basic (10.000/month) and Pro (20.000/month) in CLP, and a USD plan."""
    basic = PriceFactory(
        organization=org,
        product=ProductFactory(organization=org, name="Básico"),
        amount_minor=10_000,
    )
    pro = PriceFactory(
        organization=org, product=ProductFactory(organization=org, name="Pro"), amount_minor=20_000
    )
    usd = PriceFactory(
        organization=org,
        product=ProductFactory(organization=org, name="Global"),
        currency="USD",
        amount_minor=1_500,
    )
    return {"basic": basic, "pro": pro, "usd": usd}


@pytest.fixture
def subscription(customer, plans):
    with use_organization(customer.organization):
        return subscription_create(customer=customer, price=plans["basic"])


@pytest.fixture
def client_a(customer):
    return portal_client(customer)
