"""The public pages of organization A never show or sell organization B's prices, links or
checkouts, whoever asks (an anonymous visitor, A's staff, B's staff)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import Subscription
from checkout.models import CheckoutSession
from tests import isolation
from tests.checkout.conftest import form_data
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, other_org):
    isolation.load_app_registries()
    b_price = isolation.make("checkout.publicprice", other_org).price
    b_price.product.name = isolation.MARKER
    b_price.product.save()
    b_link = isolation.make("checkout.checkoutlink", other_org)
    b_session = isolation.make("checkout.checkoutsession", other_org)
    isolation.make("checkout.pricingpage", org)
    return {"price": b_price, "link": b_link, "session": b_session}


def _clients(client, org, other_org):
    yield client  # anonymous
    for who, where in (("a@acme.test", org), ("b@globex.test", other_org)):
        user = UserFactory(email=who)
        MembershipFactory(organization=where, user=user, role="owner")
        client.force_login(user)
        yield client


def test_a_addresses_never_show_or_sell_b_objects(client, org, other_org, world):
    a = org.slug
    urls = [
        reverse("public:pricing", kwargs={"org_slug": a}),
        reverse("public:buy", kwargs={"org_slug": a, "price_id": world["price"].pk}),
        reverse("public:link", kwargs={"org_slug": a, "code": world["link"].code}),
        reverse("public:result", kwargs={"org_slug": a, "token": world["session"].token}),
    ]
    for c in _clients(client, org, other_org):
        for url in urls:
            response = c.get(url)
            assert isolation.MARKER not in response.content.decode(), url
            if url != urls[0]:
                assert response.status_code in (404, 410), (url, response.status_code)
        # Posting a checkout at A's address for B's price or link creates nothing anywhere.
        for url in urls[1:3]:
            response = c.post(url, form_data("iso-token-1"))
            assert response.status_code in (404, 410)
            assert isolation.MARKER not in response.content.decode()
    assert not CheckoutSession.unscoped.filter(token="iso-token-1").exists()
    assert not Subscription.unscoped.exists()


def test_b_pricing_page_at_b_address_is_b_only(client, org, other_org, world):
    isolation.make("checkout.pricingpage", other_org)
    response = client.get(reverse("public:pricing", kwargs={"org_slug": other_org.slug}))
    assert response.status_code == 200
    assert isolation.MARKER in response.content.decode()  # B's own page shows B's plan
    mine = client.get(reverse("public:pricing", kwargs={"org_slug": org.slug}))
    assert isolation.MARKER not in mine.content.decode()
