"""The public pages and the staff pages over HTTP: what a visitor and a staff member see,
bad input, bots, permissions."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from billing.models import Subscription
from checkout.models import CheckoutLink, CheckoutSession, PricingPage, PublicPrice
from checkout.services.settings import checkout_link_create
from customers.models import Customer
from tests.billing.factories import PriceFactory, ProductFactory
from tests.checkout.conftest import form_data
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _token(response) -> str:
    return re.search(rb'name="checkout_token" value="([^"]+)"', response.content).group(1).decode()


def test_pricing_page_shows_public_prices_with_iva_and_the_yearly_saving(
    client, org, monthly, yearly, other_org
):
    PriceFactory(organization=org, product=monthly.product, amount_minor=99_999)  # not public
    other = PriceFactory(
        organization=other_org,
        product=ProductFactory(organization=other_org, name="Plan de Globex"),
        amount_minor=55_555,
    )
    PublicPrice.unscoped.create(organization=other_org, price=other, public=True)
    response = client.get(reverse("public:pricing", kwargs={"org_slug": org.slug}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Café Oficina" in html
    assert "$11.900" in html and "$119.000" in html
    assert "IVA incluido" in html
    assert "Ahorra 16%" in html  # 119.000 a year vs 12 × 11.900
    assert "99.999" not in html  # not marked public
    assert "Globex" not in html and "55.555" not in html
    assert PricingPage.unscoped.get(organization=org).visits == 1
    buy = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": other.pk})
    assert client.get(buy).status_code == 410  # B's price through A's address: not sold


def test_unpublished_pricing_page_is_not_found(client, org, monthly, pricing_page):
    pricing_page.enabled = False
    pricing_page.save()
    response = client.get(reverse("public:pricing", kwargs={"org_slug": org.slug}))
    assert response.status_code == 404


def test_checkout_form_subscribes_and_shows_the_result(client, org, monthly):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Total a pagar hoy" in html or "A pagar hoy" in html
    token = _token(page)
    response = client.post(url, form_data(token))
    assert response.status_code == 302
    session = CheckoutSession.unscoped.get(token=token)
    assert response["Location"].endswith(f"/c/{token}/")
    result = client.get(response["Location"])
    assert "activa" in result.content.decode()
    # A refresh of the POST (same token) lands on the same result, nothing new.
    again = client.post(url, form_data(token))
    assert again.status_code == 302 and again["Location"] == response["Location"]
    assert Subscription.unscoped.filter(organization=org).count() == 1
    assert session.status == "completed"


def test_invalid_tax_id_keeps_what_was_typed(client, org, monthly):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    token = _token(client.get(url))
    response = client.post(url, form_data(token, tax_id="11.111.111-2", name="Juana Díaz"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "no es un RUT válido" in html
    assert 'value="Juana Díaz"' in html
    assert not Customer.unscoped.filter(organization=org).exists()


def test_honeypot_and_rate_limit_stop_bots(client, org, monthly, settings):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    token = _token(client.get(url))
    bot = client.post(url, form_data(token, website="http://spam.example"))
    assert bot.status_code == 400
    assert not CheckoutSession.unscoped.exists()
    settings.COBRO_CHECKOUT_RATE_LIMIT = (3, 600)
    codes = [client.post(url, form_data(token, email="x")).status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400] and codes[3] == 429
    assert not CheckoutSession.unscoped.exists()


def test_coupon_can_be_applied_before_subscribing(client, org, monthly, coupon):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    token = _token(client.get(url))
    response = client.post(
        url, {**form_data(token), "coupon_code": "bienvenida", "apply_coupon": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "$9.520" in html  # today's amount with 20% off
    assert not CheckoutSession.unscoped.exists()
    wrong = client.post(url, {**form_data(token), "coupon_code": "NOPE", "apply_coupon": "1"})
    assert "no existe" in wrong.content.decode()


def test_link_pages_count_visits_and_refuse_when_disabled(client, org, monthly, coupon):
    link = checkout_link_create(organization=org, name="WhatsApp", price=monthly, coupon=coupon)
    url = reverse("public:link", kwargs={"org_slug": org.slug, "code": link.code})
    response = client.get(url)
    assert response.status_code == 200
    assert "BIENVENIDA" in response.content.decode()
    link.refresh_from_db()
    assert link.visits == 1
    link.active = False
    link.save()
    gone = client.get(url)
    assert gone.status_code == 410
    assert "deshabilitado" in gone.content.decode()
    assert client.get(url.replace(link.code, "nope")).status_code == 404


def test_bank_transfer_result_shows_instructions(client, org, monthly):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    token = _token(client.get(url))
    response = client.post(url, form_data(token, payment_choice="bank_transfer", token=""))
    result = client.get(response["Location"]).content.decode()
    assert "CB-" in result and "$11.900" in result


def test_staff_link_pages_with_qr_and_permissions(client, org, monthly, owner):
    client.force_login(owner)
    create = client.post(
        reverse("checkout:link_create"),
        {"name": "Feria", "price": monthly.pk, "quantity": 1},
    )
    assert create.status_code == 302
    link = CheckoutLink.unscoped.get(organization=org, name="Feria")
    detail = client.get(reverse("checkout:link_detail", kwargs={"pk": link.pk}))
    html = detail.content.decode()
    assert "<svg" in html and f"/s/{org.slug}/l/{link.code}/" in html
    assert "wa.me" in html
    qr = client.get(reverse("checkout:link_qr", kwargs={"pk": link.pk}))
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    listing = client.get(reverse("checkout:links")).content.decode()
    assert "Feria" in listing
    assert client.post(reverse("checkout:link_disable", kwargs={"pk": link.pk})).status_code == 302
    link.refresh_from_db()
    assert not link.active

    viewer = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.get(reverse("checkout:links")).status_code == 200
    assert client.get(reverse("checkout:link_create")).status_code == 403
    assert (
        client.post(
            reverse("checkout:pricing_settings"), {"incomplete_expiry_hours": 5}
        ).status_code
        == 403
    )


def test_pricing_settings_choose_public_prices(client, org, monthly, yearly, owner):
    client.force_login(owner)
    data = {
        "enabled": "on",
        "headline": "Nuevos planes",
        "require_tax_id": "on",
        "incomplete_expiry_hours": 12,
        f"public_{monthly.pk}": "on",
        f"position_{monthly.pk}": "1",
        f"position_{yearly.pk}": "2",
    }
    response = client.post(reverse("checkout:pricing_settings"), data)
    assert response.status_code == 302
    assert PricingPage.unscoped.get(organization=org).incomplete_expiry_hours == 12
    assert PublicPrice.unscoped.get(price=monthly).public
    assert not PublicPrice.unscoped.get(price=yearly).public
    bad = client.post(reverse("checkout:pricing_settings"), {**data, "incomplete_expiry_hours": 0})
    assert bad.status_code == 400
    assert PricingPage.unscoped.get(organization=org).incomplete_expiry_hours == 12


def test_declined_card_retry_page_offers_bank_transfer_and_switches_to_it(client, org, monthly):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    token = _token(client.get(url))
    response = client.post(url, form_data(token, token="tok_sandbox_generic_decline"))
    result_url = response["Location"]
    page = client.get(result_url).content.decode()
    assert "Completa tu pago" in page
    assert 'name="payment_choice" value="bank_transfer"' in page
    assert 'value="cash"' not in page  # the organization does not take cash
    response = client.post(result_url, {"payment_choice": "bank_transfer"})
    assert response.status_code == 302 and response["Location"] == result_url
    done = client.get(result_url).content.decode()
    assert "data-instructions" in done and "CB-" in done and "$11.900" in done
    session = CheckoutSession.unscoped.get(token=token)
    assert session.status == "completed" and session.payment_choice == "bank_transfer"
    # Cash is refused when not accepted, and a completed checkout cannot be switched again.
    again = client.post(result_url, {"payment_choice": "cash"})
    assert again.status_code == 400
