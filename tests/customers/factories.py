from __future__ import annotations

import factory
from stdnum.cl import rut

from customers.models import Customer
from tests.factories import OrganizationFactory


def valid_rut(n: int) -> str:
    body = str(10_000_000 + n)
    return rut.format(body + rut.calc_check_digit(body))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Cliente {n}")
    email = factory.Sequence(lambda n: f"cliente{n}@example.cl")
    country = "CL"
    tax_id = factory.Sequence(valid_rut)
    city = "Santiago"
    locale = "es-419"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Tenant models' default manager is scoped; factories write across tenants on purpose.
        return model_class.unscoped.create(*args, **kwargs)
