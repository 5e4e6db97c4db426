import pytest

from billing.demo import seed_billing
from billing.models import Coupon, Invoice, Price, Subscription
from tests.billing.factories import CustomerFactory


@pytest.mark.django_db
def test_demo_billing_seeder_is_idempotent_and_subscribes_customers(in_org, org):
    for _ in range(3):
        CustomerFactory(organization=org)
    seed_billing(org)
    seed_billing(org)
    assert Price.objects.filter(active=True, currency="CLP").count() == 3
    assert set(Coupon.objects.values_list("code", flat=True)) == {"BIENVENIDA", "FIEL"}
    assert Subscription.objects.count() == 3
    # IVA 19% included in the price: the tax is extracted from the gross amount.
    inv = Invoice.objects.filter(total_minor=9_990).first()
    assert inv is not None and inv.tax_minor == 1_595
