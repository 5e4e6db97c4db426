import pytest
from stdnum.cl import rut

from cobro.demo import seed_demo_data
from customers.models import Customer

pytestmark = pytest.mark.django_db


def test_demo_seeder_creates_chilean_customers_once(org):
    seed_demo_data(org)
    seed_demo_data(org)
    customers = list(Customer.unscoped.filter(organization=org))
    assert len(customers) == 12
    assert all(rut.is_valid(c.tax_id) and c.country == "CL" for c in customers)
