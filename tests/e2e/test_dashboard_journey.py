"""The staff dashboard in a real browser: an owner creates a product and its price, adds a
customer, subscribes them, advances the sandbox test clock, opens the renewal invoice,
downloads its PDF, opens the payment and refunds it; the same journey in English; a viewer
sees no action buttons and every action URL refuses them. Screenshots go to artifacts/e2e/.

The customer's card is saved through the payments service, as the customer would do in the
portal (the portal journey in test_portal.py covers that page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from pypdf import PdfReader

from billing.models import CreditNote, Invoice, InvoiceStatus, Price, Product, Subscription
from billing.payments.models import PaymentAttempt, Refund
from billing.payments.services.methods import payment_method_add_card
from billing.services.catalog import tax_rate_create
from cobro.events import events_dispatch_pending
from cobro.tenancy.context import use_organization
from customers.models import Customer
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"

# What the pages say in each language (labels of buttons and messages the journey relies on).
TEXT = {
    "es-419": {
        "save_product": "Crear producto",
        "refund": "Reembolsar",
        "continue": "Continuar",
        "confirm_refund": "Sí, reembolsar",
        "refunded": "Se hizo el reembolso y se emitió una nota de crédito.",
        "advanced": "Ejecución de facturación terminada",
        "pdf": "Descargar PDF",
        "simulate": "Simular un año",
        "run_simulation": "Simular",
    },
    "en": {
        "save_product": "Create product",
        "refund": "Refund",
        "continue": "Continue",
        "confirm_refund": "Yes, refund",
        "refunded": "The refund was made and a credit note issued.",
        "advanced": "Billing run finished",
        "pdf": "Download PDF",
        "simulate": "Simulate a year",
        "run_simulation": "Simulate",
    },
}

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 12:00 in Santiago


def _sandbox_org(slug: str):
    org = OrganizationFactory(
        slug=slug, display_name="Café Demo", is_sandbox=True, test_clock_at=START
    )
    with use_organization(org):
        tax_rate_create(organization=org, name="IVA", percentage="19", country="CL")
    return org


def _sign_in(page, live_server, user) -> None:
    """Reuse Django's session (sign-in itself is covered by test_staff_signup.py)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _member(org, role: str, email: str):
    user = UserFactory(email=email)
    MembershipFactory(organization=org, user=user, role=role)
    return user


def _drain() -> None:
    """Do what the workers do after a commit: dispatch the outbox (charges, PDFs, emails)."""
    while events_dispatch_pending():
        pass


def _submit(page):
    page.locator("main form:not(.inline-form) button[type=submit]").last.click()


def _journey(live_server, page, screenshot, language: str, slug: str) -> None:
    t = TEXT[language]
    org = _sandbox_org(slug)
    owner = _member(org, "owner", f"owner@{slug}.test")
    _sign_in(page, live_server, owner)
    base = live_server.url

    # 1. A product and its monthly price with IVA added on top.
    page.goto(f"{base}/billing/catalog/products/new/")
    page.locator("#id_name").fill("Café de especialidad")
    page.locator("#id_description").fill("1 kg de café de origen cada mes")
    screenshot(page, "01-product-form")
    page.get_by_role("button", name=t["save_product"]).click()
    # A new product goes straight to its first price.
    page.wait_for_url("**/billing/catalog/products/*/prices/new/")
    page.locator("#id_nickname").fill("Mensual")
    page.locator("#id_amount").fill("12.990")
    page.locator("#id_tax_behavior").select_option("exclusive")
    page.locator("#id_tax_rate").select_option(label="IVA 19%")
    screenshot(page, "02-price-form")
    _submit(page)
    page.wait_for_url("**/billing/catalog/products/*/")
    assert page.locator("main").get_by_text("$12.990").first.is_visible()
    screenshot(page, "03-product-with-price")
    with use_organization(org):
        price = Price.objects.get(product__name="Café de especialidad")
        assert (price.amount_minor, price.tax_behavior) == (12_990, "exclusive")

    # 1b. The plan simulator from the price: a year with IVA, nothing written.
    page.get_by_role("link", name=t["simulate"]).first.click()
    page.wait_for_url(f"**/billing/simulator/prices/{price.pk}/")
    page.locator("#id_quantity").fill("2")
    page.locator("#id_start_on").fill("2026-03-02")
    page.get_by_role("button", name=t["run_simulation"], exact=True).click()
    page.wait_for_url(f"**/billing/simulator/prices/{price.pk}/?*")
    assert page.get_by_test_id("sim-count").inner_text() == "12"
    assert page.get_by_test_id("sim-total").inner_text() == "$370.992"  # 12 x 2 x 15.458
    screenshot(page, "03b-simulator")
    with use_organization(org):
        assert not Invoice.objects.exists() and not Subscription.objects.exists()

    # 2. A customer.
    page.goto(f"{base}/customers/new/")
    page.locator("#id_name").fill("Panadería Las Rosas")
    page.locator("#id_email").fill("rosas@example.cl")
    screenshot(page, "04-customer-form")
    _submit(page)
    page.wait_for_url("**/customers/*/")
    screenshot(page, "05-customer-detail")
    with use_organization(org):
        customer = Customer.objects.get(email="rosas@example.cl")
    payment_method_add_card(customer=customer, gateway="sandbox", token="tok_sandbox_success")

    # 3. Subscribe them: the first period is invoiced and charged at once.
    page.goto(f"{base}/billing/subscriptions/new/?customer={customer.pk}")
    page.locator("#id_price").select_option(str(price.pk))
    screenshot(page, "06-subscription-form")
    _submit(page)
    page.wait_for_url("**/billing/subscriptions/*/")
    _drain()
    page.reload()
    screenshot(page, "07-subscription-detail")
    with use_organization(org):
        sub = Subscription.objects.get(customer=customer)
        first = Invoice.objects.get(subscription=sub)
    assert first.total_minor == 15_458  # 12.990 + IVA 19% (2.468,1 -> 2.468)
    assert first.status == InvoiceStatus.PAID

    # 4. Advance the test clock one month: the renewal is invoiced and charged.
    page.goto(f"{base}/billing/test-clock/")
    target = (START + timedelta(days=32)).astimezone(ZoneInfo(org.time_zone))
    page.locator("#id_to").fill(target.strftime("%Y-%m-%dT%H:%M"))
    screenshot(page, "08-test-clock")
    _submit(page)
    # The advance runs in the background (eager Celery here: done by the time of the redirect)
    # and its progress page ends in a summary.
    page.wait_for_url("**/billing/runs/*/")
    page.get_by_text(t["advanced"]).wait_for()
    assert page.locator("#billing-run-summary dd").nth(1).inner_text() == "1"  # invoices
    screenshot(page, "09-test-clock-advanced")
    _drain()
    with use_organization(org):
        renewal = Invoice.objects.filter(subscription=sub).exclude(pk=first.pk).get()
    assert renewal.status == InvoiceStatus.PAID and renewal.total_minor == 15_458

    # 5. The invoice, its PDF.
    page.goto(f"{base}/billing/invoices/")
    screenshot(page, "10-invoice-list")
    page.get_by_role("link", name=renewal.number).first.click()
    page.wait_for_url(f"**/billing/invoices/{renewal.pk}/")
    assert renewal.number in page.locator("main h1").inner_text()
    screenshot(page, "11-invoice-detail")
    with page.expect_download() as download:
        page.get_by_role("link", name=t["pdf"]).click()
    pdf = ARTIFACTS / f"journey-{language}-{renewal.number}.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = PdfReader(pdf).pages[0].extract_text()
    assert renewal.number in text and "15.458" in text

    # 6. The payment, and its refund (asked to confirm first).
    with use_organization(org):
        attempt = PaymentAttempt.objects.get(invoice=renewal, status="succeeded")
    page.goto(f"{base}/payments/")
    screenshot(page, "12-payment-list")
    page.goto(f"{base}/payments/{attempt.pk}/")
    assert renewal.number in page.locator("main").inner_text()
    screenshot(page, "13-payment-detail")
    page.locator("main").get_by_role("link", name=t["refund"]).click()
    screenshot(page, "14-refund-form")
    page.get_by_role("button", name=t["continue"]).click()
    screenshot(page, "15-refund-confirm")
    with use_organization(org):
        assert not Refund.objects.exists()  # nothing moved before the confirmation
    page.get_by_role("button", name=t["confirm_refund"]).click()
    page.wait_for_url(f"**/payments/{attempt.pk}/")
    assert t["refunded"] in page.locator("main").inner_text()
    screenshot(page, "16-refunded")
    with use_organization(org):
        refund = Refund.objects.get()
        assert refund.amount_minor == renewal.total_minor
        assert CreditNote.objects.filter(invoice=renewal).exists()
        assert Product.objects.count() == 1


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_owner_journey_in_spanish(live_server, page, screenshot):
    _journey(live_server, page, screenshot, "es-419", "cafe-es")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_owner_journey_in_english(live_server, browser, screenshot):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en")
    context.set_default_timeout(15_000)
    try:
        _journey(live_server, context.new_page(), screenshot, "en", "cafe-en")
    finally:
        context.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_viewer_cannot_act(live_server, page, screenshot):
    """Every action button is hidden from a viewer, and the action URLs refuse them."""
    org = _sandbox_org("cafe-viewer")
    with use_organization(org):
        from tests.billing.factories import PriceFactory, ProductFactory
        from tests.customers.factories import CustomerFactory

        product = ProductFactory(organization=org, name="Café de especialidad")
        price = PriceFactory(organization=org, product=product, amount_minor=12_990)
        customer = CustomerFactory(organization=org, name="Panadería Las Rosas")
        payment_method_add_card(customer=customer, gateway="sandbox", token="tok_sandbox_success")
        from billing.services.subscriptions import subscription_create

        sub = subscription_create(customer=customer, price=price)
    _drain()
    with use_organization(org):
        invoice = Invoice.objects.get(subscription=sub)
        attempt = PaymentAttempt.objects.get(invoice=invoice, status="succeeded")
    viewer = _member(org, "viewer", "viewer@cafe.test")
    _sign_in(page, live_server, viewer)
    base = live_server.url

    pages = {
        "product": (f"/billing/catalog/products/{product.pk}/", ["Agregar precio", "Editar"]),
        "customer": (f"/customers/{customer.pk}/", ["Editar", "Enviar enlace al portal"]),
        "subscription": (
            f"/billing/subscriptions/{sub.pk}/",
            ["Cancelar suscripción", "Pausar", "Cambiar precio o cantidad"],
        ),
        "invoice": (f"/billing/invoices/{invoice.pk}/", ["Emitir nota de crédito", "Anular"]),
        "payment": (f"/payments/{attempt.pk}/", ["Reembolsar"]),
        "test-clock": ("/billing/test-clock/", ["Avanzar reloj"]),
    }
    for name, (path, hidden) in pages.items():
        response = page.goto(base + path)
        assert response.status == 200, path
        main = page.locator("main")
        for label in hidden:
            assert main.get_by_role("button", name=label, exact=True).count() == 0, (path, label)
            assert main.get_by_role("link", name=label, exact=True).count() == 0, (path, label)
        screenshot(page, f"viewer-{name}")
    # Reading is allowed: the PDF and the simulator (read-only).
    assert page.goto(f"{base}/billing/simulator/prices/{price.pk}/").status == 200

    # The URLs refuse the viewer, GET (forms) and POST (actions) alike.
    refused_get = [
        f"/billing/catalog/products/{product.pk}/prices/new/",
        "/billing/catalog/products/new/",
        "/customers/new/",
        "/billing/subscriptions/new/",
        f"/billing/subscriptions/{sub.pk}/cancel/",
        f"/payments/{attempt.pk}/refund/",
        "/settings/api-keys/",
        "/messaging/settings/",
        "/customers/portal-settings/",
    ]
    for path in refused_get:
        assert page.goto(base + path).status == 403, path
    screenshot(page, "viewer-refused")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused_post = {
        f"/payments/{attempt.pk}/refund/": {"amount": "100", "confirm": "1"},
        f"/billing/subscriptions/{sub.pk}/cancel/": {"when": "now"},
        "/billing/test-clock/": {"to": "2027-01-01T00:00"},
        f"/p/{org.slug}/staff/customers/{customer.pk}/send-link/": {},
    }
    for path, data in refused_post.items():
        response = page.request.post(
            base + path, form=data, headers={"X-CSRFToken": csrf, "Referer": base + "/"}
        )
        assert response.status == 403, path
    with use_organization(org):
        assert not Refund.objects.exists()
        sub.refresh_from_db()
        assert sub.status == "active"
    org.refresh_from_db()
    assert org.test_clock_at == START
