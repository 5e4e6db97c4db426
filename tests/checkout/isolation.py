"""Isolation registries of the checkout app (imported by tests/isolation.py).

The public pages (``public:*``) are public on purpose: organization B's pricing page at B's
address is for everyone. What must hold is that an address of A never shows or sells B's
prices, links or checkouts; tests/checkout/test_public_isolation.py requests A's public
addresses with B's ids and checks exactly that, so the harness's staff-session check (which
expects B's public address to be refused) does not apply to them.
"""

from __future__ import annotations

import uuid

from checkout.models import CheckoutLink, CheckoutSession, PricingPage, PublicPrice
from tests.isolation import URL_ALLOWLIST, _now, isolation_factory, make, marked, url_case

_PUBLIC = "public subscribe page (anyone may read B's at B's address); see test_public_isolation"
for _name in ("public:pricing", "public:buy", "public:link", "public:result"):
    URL_ALLOWLIST[_name] = _PUBLIC


@isolation_factory("checkout.pricingpage")
def _pricing_page(org):
    return PricingPage.unscoped.get_or_create(
        organization=org, defaults={"enabled": True, "headline": marked(org, "Planes")[:120]}
    )[0]


@isolation_factory("checkout.publicprice")
def _public_price(org):
    return PublicPrice.unscoped.create(
        organization=org, price=make("billing.price", org), public=True
    )


@isolation_factory("checkout.checkoutlink")
def _link(org):
    return CheckoutLink.unscoped.create(
        organization=org,
        name=marked(org, "Enlace")[:100],
        price=make("billing.price", org),
        created_at=_now(),
    )


@isolation_factory("checkout.checkoutsession")
def _session(org):
    link = make("checkout.checkoutlink", org)
    return CheckoutSession.unscoped.create(
        organization=org,
        token=uuid.uuid4().hex,
        source="link",
        link=link,
        price=link.price,
        customer=make("customers.customer", org),
        payment_choice="card",
        coupon_code=marked(org, "X")[:40],
        created_at=_now(),
    )


@url_case("checkout:link_detail")
def _link_detail(org):
    return {"pk": make("checkout.checkoutlink", org).pk}


@url_case("checkout:link_qr")
def _link_qr(org):
    return {"pk": make("checkout.checkoutlink", org).pk}


@url_case("checkout:link_disable")
def _link_disable(org):
    return {"pk": make("checkout.checkoutlink", org).pk}
