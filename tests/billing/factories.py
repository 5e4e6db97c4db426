"""Factories of billing models. Amounts in minor units; CLP by default (the demo country)."""

from __future__ import annotations

from decimal import Decimal

import factory

from billing.models import Coupon, Price, Product, TaxRate
from customers.models import Customer
from tests.factories import OrganizationFactory


class TenantFactory(factory.django.DjangoModelFactory):
    """Saves through ``unscoped``: the factory always passes the organization explicitly."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.unscoped


class CustomerFactory(TenantFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Cliente {n}")
    email = factory.Sequence(lambda n: f"cliente{n}@example.test")


class TaxRateFactory(TenantFactory):
    class Meta:
        model = TaxRate

    organization = factory.SubFactory(OrganizationFactory)
    name = "IVA"
    percentage = Decimal("19")
    country = "CL"


class ProductFactory(TenantFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")


class PriceFactory(TenantFactory):
    class Meta:
        model = Price

    organization = factory.SubFactory(OrganizationFactory)
    product = factory.SubFactory(
        ProductFactory, organization=factory.SelfAttribute("..organization")
    )
    currency = "CLP"
    amount_minor = 10_000
    interval = "month"
    interval_count = 1


class CouponFactory(TenantFactory):
    class Meta:
        model = Coupon

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"PROMO{n}")
    name = "Promo"
    percent_off = Decimal("10")
    duration = "once"


def subscription_factory(**kwargs):
    """A subscription made through the real service (models are never built by hand)."""
    from billing.services.subscriptions import subscription_create

    return subscription_create(**kwargs)
