"""The public subscribe pages in a real browser, on a phone and on a desktop: from the
pricing page to an active subscription with the sandbox card; from a checkout link with a
coupon; a declined card then a good one; bank transfer ending in an open invoice with its
instructions. And the staff side: a link's QR code. Screenshots land in artifacts/e2e/."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache

from billing.models import Invoice, Subscription, TaxRate
from billing.payments.models import SandboxCharge
from billing.payments.services.accounts import gateway_account_update
from checkout.models import CheckoutSession, PricingPage
from checkout.services.settings import checkout_link_create, public_price_set
from tests.billing.factories import CouponFactory, PriceFactory, ProductFactory
from tests.customers.factories import valid_rut
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=sorted(VIEWPORTS))
def device_page(request, browser):
    context = browser.new_context(locale="es-419", **VIEWPORTS[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _shop():
    cache.clear()
    org = OrganizationFactory(
        slug="cafe-andino",
        display_name="Café Andino",
        legal_name="Café Andino SpA",
        brand_color="#8d4b2b",
    )
    PricingPage.unscoped.create(
        organization=org,
        enabled=True,
        headline="Café de especialidad cada mes",
        intro="Granos frescos en tu oficina.",
        terms_text="Se renueva automáticamente.",
        allow_bank_transfer=True,
    )
    gateway_account_update(
        organization=org,
        gateway="manual",
        values={
            "bank_name": "Banco Estado",
            "account_holder": "Café Andino SpA",
            "tax_id": "76.086.428-5",
            "account_type": "Cuenta corriente",
            "account_number": "123456789",
            "email": "pagos@cafeandino.cl",
        },
    )
    iva = TaxRate.unscoped.create(
        organization=org, name="IVA", percentage=Decimal("19"), inclusive=True, country="CL"
    )
    product = ProductFactory(organization=org, name="Café Oficina")
    monthly = PriceFactory(
        organization=org,
        product=product,
        amount_minor=11_900,
        tax_behavior="inclusive",
        tax_rate=iva,
        nickname="Mensual",
    )
    yearly = PriceFactory(
        organization=org,
        product=product,
        amount_minor=119_000,
        interval="year",
        tax_behavior="inclusive",
        tax_rate=iva,
        nickname="Anual",
    )
    public_price_set(price=monthly, public=True, position=1, highlighted=True)
    public_price_set(price=yearly, public=True, position=2)
    return org, monthly, yearly


def _fill_details(page, n: int, *, email: str | None = None):
    page.get_by_label("Nombre completo o razón social").fill(f"Cliente {n}")
    page.get_by_label("Correo electrónico").fill(email or f"cliente{n}@example.cl")
    page.get_by_label("RUT", exact=True).fill(valid_rut(900 + n))
    page.get_by_label("Calle y número").fill("Av. Italia 1000")
    page.get_by_label("Ciudad").fill("Santiago")


def _accept_and_card(page, number: str):
    page.get_by_label("Número de tarjeta").fill(number)
    page.get_by_text("Acepto los términos y condiciones").click()


def test_pricing_page_to_active_subscription(live_server, device_page, screenshot):
    page = device_page
    org, monthly, yearly = _shop()
    page.goto(f"{live_server.url}/s/{org.slug}/")
    assert page.locator("h1").inner_text() == "Café de especialidad cada mes"
    assert page.get_by_text("Ahorra 16%").is_visible()
    assert page.get_by_text("IVA incluido").first.is_visible()
    screenshot(page, "01-pricing")
    page.locator(f'[data-price="{monthly.pk}"] a').click()
    page.wait_for_url(f"**/buy/{monthly.pk}/")
    assert page.locator("[data-today]").inner_text() == "$11.900"
    _fill_details(page, 1)
    _accept_and_card(page, "4242 4242 4242 4242")
    screenshot(page, "02-checkout")
    page.get_by_role("button", name=re.compile("Suscribirme y pagar")).click()
    page.wait_for_url("**/c/*/")
    assert page.locator("h1").inner_text() == "¡Gracias!"
    assert page.get_by_text("Tu suscripción a Café Oficina está activa.").is_visible()
    assert page.get_by_role("link", name="Ir a mi portal de cliente").is_visible()
    screenshot(page, "03-done")
    sub = Subscription.unscoped.get(organization=org)
    assert sub.status == "active" and sub.price_id == monthly.pk
    assert SandboxCharge.unscoped.filter(organization=org, status="succeeded").count() == 1
    # Back and submit again (the browser re-posts the same form): still one subscription.
    page.go_back()
    page.reload()
    assert Subscription.unscoped.filter(organization=org).count() == 1


def test_checkout_link_with_coupon(live_server, device_page, screenshot):
    page = device_page
    org, monthly, _yearly = _shop()
    coupon = CouponFactory(
        organization=org, code="VERANO", name="Verano", percent_off=Decimal("50")
    )
    link = checkout_link_create(organization=org, name="Feria", price=monthly, coupon=coupon)
    page.goto(f"{live_server.url}/s/{org.slug}/l/{link.code}/")
    assert page.locator("[data-coupon]").is_visible()
    assert page.locator("[data-today]").inner_text() == "$5.950"
    assert page.locator("[data-renewal]").inner_text() == "$11.900"
    _fill_details(page, 2)
    _accept_and_card(page, "5555 5555 5555 4444")
    screenshot(page, "01-link-checkout")
    page.get_by_role("button", name=re.compile("Suscribirme y pagar")).click()
    page.wait_for_url("**/c/*/")
    assert page.get_by_text("Cobramos $5.950 a tu tarjeta.").is_visible()
    screenshot(page, "02-link-done")
    session = CheckoutSession.unscoped.get(organization=org)
    assert session.link_id == link.pk
    assert Subscription.unscoped.get(organization=org).coupon_id == coupon.pk


def test_declined_card_then_a_good_one(live_server, device_page, screenshot):
    page = device_page
    org, monthly, _yearly = _shop()
    page.goto(f"{live_server.url}/s/{org.slug}/buy/{monthly.pk}/")
    _fill_details(page, 3)
    _accept_and_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name=re.compile("Suscribirme y pagar")).click()
    page.wait_for_url("**/c/*/")
    assert page.locator("h1").inner_text() == "Completa tu pago"
    assert page.get_by_text("Tu tarjeta fue rechazada (el banco rechazó la tarjeta).").is_visible()
    assert page.get_by_text("cliente3@example.cl").is_visible()  # what was typed is kept
    screenshot(page, "01-declined")
    assert Subscription.unscoped.get(organization=org).status == "incomplete"
    page.get_by_label("Número de tarjeta").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pagar ahora").click()
    page.wait_for_url("**/c/*/")
    assert page.locator("h1").inner_text() == "¡Gracias!"
    screenshot(page, "02-paid")
    assert Subscription.unscoped.get(organization=org).status == "active"
    assert SandboxCharge.unscoped.filter(organization=org, status="succeeded").count() == 1


def test_declined_card_then_bank_transfer_on_the_retry_page(live_server, device_page, screenshot):
    page = device_page
    org, monthly, _yearly = _shop()
    page.goto(f"{live_server.url}/s/{org.slug}/buy/{monthly.pk}/")
    _fill_details(page, 5)
    _accept_and_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name=re.compile("Suscribirme y pagar")).click()
    page.wait_for_url("**/c/*/")
    assert page.locator("h1").inner_text() == "Completa tu pago"
    assert page.get_by_text("cliente5@example.cl").is_visible()
    assert page.get_by_role("button", name="Pagar en efectivo").count() == 0  # not accepted
    screenshot(page, "01-declined-offers-transfer")
    page.get_by_role("button", name="Pagar con transferencia bancaria").click()
    page.wait_for_url("**/c/*/")
    assert page.locator("h1").inner_text() == "¡Gracias!"
    box = page.locator("[data-instructions]")
    assert box.is_visible() and "Banco Estado" in box.inner_text()
    assert page.locator("[data-amount]").inner_text() == "$11.900"
    assert page.get_by_role("link", name="Ir a mi portal de cliente").is_visible()
    screenshot(page, "02-transfer-instructions")
    sub = Subscription.unscoped.get(organization=org)
    assert sub.status == "active" and sub.collection_method == "send_invoice"
    invoice = Invoice.unscoped.get(organization=org)
    assert invoice.status == "open" and invoice.collection_method == "send_invoice"
    assert not SandboxCharge.unscoped.filter(organization=org, status="succeeded").exists()


def test_bank_transfer_open_invoice_with_instructions(live_server, device_page, screenshot):
    page = device_page
    org, _monthly, yearly = _shop()
    page.goto(f"{live_server.url}/s/{org.slug}/buy/{yearly.pk}/")
    _fill_details(page, 4)
    page.get_by_text("Transferencia bancaria").click()
    assert not page.get_by_label("Número de tarjeta").is_visible()
    page.get_by_text("Acepto los términos y condiciones").click()
    screenshot(page, "01-transfer")
    page.get_by_role("button", name=re.compile("Suscribirme")).click()
    page.wait_for_url("**/c/*/")
    box = page.locator("[data-instructions]")
    assert box.is_visible()
    assert "Banco Estado" in box.inner_text()
    assert page.locator("[data-amount]").inner_text() == "$119.000"
    reference = page.locator("[data-reference]").inner_text()
    assert re.fullmatch(r"CB-[0-9A-Z]{4}-[0-9A-Z]{4}", reference)
    screenshot(page, "02-instructions")
    invoice = Invoice.unscoped.get(organization=org)
    assert invoice.status == "open" and invoice.collection_method == "send_invoice"
    assert not SandboxCharge.unscoped.filter(organization=org).exists()


def test_staff_sees_the_link_qr_code(live_server, page, screenshot):
    org, monthly, _yearly = _shop()
    user = UserFactory(email="duena@cafeandino.cl")
    MembershipFactory(organization=org, user=user, role="owner")
    link = checkout_link_create(organization=org, name="Mesón", price=monthly)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_login").fill("duena@cafeandino.cl")
    page.locator("#id_password").fill("correct-horse-battery-9")
    page.locator("#id_password").press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/checkout/links/{link.pk}/")
    assert page.locator("[data-qr] svg").is_visible()
    assert f"/s/{org.slug}/l/{link.code}/" in page.locator("[data-link-url]").input_value()
    screenshot(page, "01-link-qr")
    page.goto(f"{live_server.url}/checkout/")
    assert page.get_by_text("Mesón").is_visible()
    screenshot(page, "02-links")
