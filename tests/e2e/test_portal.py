"""The customer portal in a real browser, on a phone and on a desktop: sign in with the
emailed code, read and download an invoice, pay it with the saved card, change plan seeing
the proration, pause and resume, and cancel with a reason."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache

from billing.models import CollectionMethod, Invoice, Subscription
from billing.payments.services.methods import payment_method_add_card
from billing.services.invoices import ManualItem, invoice_create_one_off
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.tenancy.context import use_organization
from customers.portal.models import CancellationFeedback, PortalSettings
from tests.billing.factories import PriceFactory, ProductFactory
from tests.customers.factories import CustomerFactory

VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.fixture(params=sorted(VIEWPORTS))
def device_page(request, browser):
    context = browser.new_context(locale="es-419", **VIEWPORTS[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _world():
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(
        slug="cafe-andino",
        display_name="Café Andino",
        legal_name="Café Andino SpA",
        brand_color="#8d4b2b",
    )
    PortalSettings.unscoped.create(
        organization=org,
        max_pause_days=60,
        retention_offer_text="¿Te quedas? Te regalamos un mes de café.",
    )
    customer = CustomerFactory(organization=org, name="Ana Pérez", email="ana@example.cl")
    basic = PriceFactory(
        organization=org,
        product=ProductFactory(organization=org, name="Café mensual"),
        amount_minor=12_990,
    )
    PriceFactory(
        organization=org,
        product=ProductFactory(organization=org, name="Café premium"),
        amount_minor=24_990,
    )
    with use_organization(org):
        sub = subscription_create(
            customer=customer, price=basic, now=clock.now() - timedelta(days=12)
        )
    payment_method_add_card(customer=customer, gateway="sandbox", token="tok_sandbox_success")
    invoice = invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem(description="Molinillo de café", unit_amount_minor=34_990)],
        collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    return org, customer, sub, invoice


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_portal_journey(live_server, device_page, screenshot):
    cache.clear()
    page = device_page
    shot = lambda name: screenshot(page, name)  # noqa: E731
    org, customer, sub, invoice = _world()
    base = f"{live_server.url}/p/{org.slug}"

    # Sign in with the emailed code.
    page.goto(f"{base}/")
    page.wait_for_url("**/login/**")
    assert page.locator("h1").inner_text() == "Iniciar sesión"
    shot("01-sign-in")
    page.get_by_label("Correo").fill("ana@example.cl")
    page.get_by_role("button", name="Enviarme un código").click()
    page.wait_for_url("**/login/code/")
    assert len(mail.outbox) == 1
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    page.get_by_label("Código").fill(code)
    shot("02-code")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base}/")
    assert "Hola, Ana Pérez" in page.locator("h1").inner_text()
    assert page.get_by_text("Café mensual").is_visible()
    shot("03-overview")

    # The open invoice: read it, download the PDF, pay it with the saved card.
    page.get_by_role("link", name=re.compile(invoice.number)).first.click()
    page.wait_for_url(f"**/invoices/{invoice.pk}/")
    assert page.get_by_text("Molinillo de café").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    shot("04-invoice")
    page.get_by_role("button", name=re.compile("Pagar ahora con")).click()
    page.wait_for_url(f"**/invoices/{invoice.pk}/")
    assert page.get_by_text("¡Gracias! Recibimos tu pago.").is_visible()
    shot("05-paid")
    assert Invoice.unscoped.get(pk=invoice.pk).status == "paid"

    # Payment methods: the saved card; adding one waits for the gateway's hosted form.
    page.goto(f"{base}/payment-methods/")
    assert page.get_by_text("Visa •••• 4242").is_visible()
    shot("06-payment-methods")
    page.get_by_role("link", name="Agregar una tarjeta").click()
    page.wait_for_url("**/payment-methods/add/")
    shot("06b-add-card")

    # Change plan: the proration is shown before confirming.
    page.goto(f"{base}/subscriptions/{sub.pk}/")
    shot("07-subscription")
    page.get_by_role("link", name="Cambiar plan o cantidad").click()
    page.get_by_text("Café premium").click()
    page.get_by_role("button", name="Ver el precio").click()
    assert page.get_by_text("Se cobra hoy (prorrateado)").is_visible()
    due = page.get_by_test_id("amount-due").inner_text()
    shot("08-change-preview")
    page.get_by_role("button", name="Confirmar cambio").click()
    page.wait_for_url("**/invoices/*/")
    assert due in page.locator("main").inner_text()
    assert Subscription.unscoped.get(pk=sub.pk).price.product.name == "Café premium"

    # Pause, then resume.
    page.goto(f"{base}/subscriptions/{sub.pk}/")
    page.get_by_role("link", name="Pausar").click()
    resume_on = clock.local_now(org).date() + timedelta(days=30)
    page.get_by_label("Reanudar el").fill(resume_on.isoformat())
    shot("09-pause")
    page.get_by_role("button", name="Pausar").click()
    page.wait_for_url(f"**/subscriptions/{sub.pk}/")
    assert page.get_by_text("Tu suscripción está pausada").is_visible()
    assert Subscription.unscoped.get(pk=sub.pk).status == "paused"
    shot("10-paused")
    page.get_by_role("button", name="Reanudar ahora").click()
    page.wait_for_url(f"**/subscriptions/{sub.pk}/")
    assert Subscription.unscoped.get(pk=sub.pk).status == "active"

    # Cancel with a reason: the offer is visible but not in the way (3 clicks).
    page.get_by_role("link", name="Cancelar suscripción").click()  # 1
    assert page.get_by_text("¿Te quedas?").is_visible()
    page.get_by_label("¿Por qué te vas? (opcional)").select_option("too_expensive")  # 2
    shot("11-cancel")
    page.get_by_role("button", name="Confirmar cancelación").click()  # 3
    page.wait_for_url(f"**/subscriptions/{sub.pk}/")
    assert page.get_by_role("button", name="Mantener mi suscripción").is_visible()
    shot("12-canceled")
    assert Subscription.unscoped.get(pk=sub.pk).cancel_at_period_end
    assert CancellationFeedback.unscoped.get(subscription=sub).reason == "too_expensive"

    # Undo it, then sign out.
    page.get_by_role("button", name="Mantener mi suscripción").click()
    page.wait_for_url(f"**/subscriptions/{sub.pk}/")
    assert not Subscription.unscoped.get(pk=sub.pk).cancel_at_period_end
    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url("**/login/")
