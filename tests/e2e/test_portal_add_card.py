"""Adding a card in the portal through the sandbox gateway's hosted field, in a real browser on
a phone and on a desktop, then paying an open invoice with it. The card number is tokenized in
the browser: the server only ever receives ``tok_sandbox_...``."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache

from billing.models import CollectionMethod, Invoice
from billing.payments.models import PaymentAttempt, PaymentMethod
from billing.services.invoices import ManualItem, invoice_create_one_off
from tests.customers.factories import CustomerFactory
from tests.e2e.test_portal import VIEWPORTS


@pytest.fixture(params=sorted(VIEWPORTS))
def device_page(request, browser):
    context = browser.new_context(locale="es-419", **VIEWPORTS[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method == "POST" else None)
    page.posted = posted  # type: ignore[attr-defined]
    yield page
    context.close()


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/")
    page.wait_for_url("**/login/**")
    page.get_by_label("Correo").fill(email)
    page.get_by_role("button", name="Enviarme un código").click()
    page.wait_for_url("**/login/code/")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Código").fill(code)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base}/")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_add_a_sandbox_card_and_pay_an_open_invoice(live_server, device_page, screenshot):
    from tests.factories import OrganizationFactory

    cache.clear()
    page = device_page
    shot = lambda name: screenshot(page, name)  # noqa: E731
    org = OrganizationFactory(slug="libreria-sur", display_name="Librería Sur")
    customer = CustomerFactory(organization=org, name="Tomás Rojas", email="tomas@example.cl")
    invoice = invoice_create_one_off(
        customer=customer,
        currency="CLP",
        items=[ManualItem(description="Club de lectura", unit_amount_minor=15_990)],
        collection_method=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    base = f"{live_server.url}/p/{org.slug}"
    _sign_in(page, base, "tomas@example.cl")

    # No card yet: the invoice asks for one and comes back here afterwards.
    page.goto(f"{base}/invoices/{invoice.pk}/")
    page.get_by_role("link", name="Agregar una tarjeta para pagar").click()
    page.wait_for_url("**/payment-methods/add/**")
    assert page.get_by_text("4242424242424242").is_visible()  # the test cards are listed
    shot("01-add-card")

    # A number the sandbox does not know is refused in the browser: nothing is posted.
    posts_before = len(page.posted)
    field = page.get_by_label("Número de tarjeta")
    field.fill("4111 1111 1111 1111")
    page.get_by_role("button", name="Guardar tarjeta").click()
    error = page.get_by_role("alert").filter(has_text="no se acepta en modo de prueba")
    assert error.is_visible()
    shot("02-unknown-number")
    assert len(page.posted) == posts_before
    assert not PaymentMethod.unscoped.filter(customer=customer).exists()

    # A test card: only its token reaches the server, then back to the invoice.
    field.fill("4242424242424242")
    assert field.input_value() == "4242 4242 4242 4242"  # grouped as typed
    page.get_by_role("button", name="Guardar tarjeta").click()
    page.wait_for_url(f"**/invoices/{invoice.pk}/")
    assert page.get_by_text("guardada como predeterminada").is_visible()
    card_post = page.posted[-1]
    assert "token=tok_sandbox_success" in card_post
    assert "4242" not in card_post  # neither the number nor part of it was submitted
    method = PaymentMethod.unscoped.get(customer=customer)
    assert (method.brand, method.last4, method.is_default) == ("visa", "4242", True)
    shot("03-card-saved")

    page.get_by_role("button", name=re.compile("Pagar ahora con Visa •••• 4242")).click()
    page.wait_for_url(f"**/invoices/{invoice.pk}/")
    assert page.get_by_text("¡Gracias! Recibimos tu pago.").is_visible()
    shot("04-paid")
    assert Invoice.unscoped.get(pk=invoice.pk).status == "paid"
    attempt = PaymentAttempt.unscoped.get(invoice=invoice)
    assert (attempt.status, attempt.payment_method_id) == ("succeeded", method.pk)

    page.goto(f"{base}/payment-methods/")
    assert page.get_by_text("Visa •••• 4242").is_visible()
    shot("05-payment-methods")
