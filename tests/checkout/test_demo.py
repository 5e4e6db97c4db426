import pytest

from billing.demo import seed_billing
from billing.models import Price
from checkout.demo import DEMO_LINK_NAME, seed_checkout
from checkout.models import CheckoutLink, PricingPage, PublicPrice
from tests.billing.factories import CustomerFactory


@pytest.mark.django_db
def test_demo_checkout_seeder_is_idempotent(in_org, org, client):
    CustomerFactory(organization=org)
    seed_billing(org)
    seed_checkout(org)
    seed_checkout(org)
    page = PricingPage.objects.get()
    assert page.enabled and page.allow_bank_transfer
    assert Price.objects.filter(interval="year", product__name="Plan Pro").count() == 1
    assert PublicPrice.objects.filter(public=True).count() == 4
    link = CheckoutLink.objects.get(name=DEMO_LINK_NAME)
    assert link.coupon is not None and link.coupon.code == "BIENVENIDA"
    html = client.get(f"/s/{org.slug}/").content.decode()
    assert "Plan Pro" in html and "Ahorra" in html
