"""Accessibility: axe-core (the npm package, installed by ``make test`` with ``npm ci`` into
node_modules/) is injected into the main staff pages and the customer portal pages, on a
desktop and on a phone viewport; no serious or critical violation may remain.

axe is evaluated through the DevTools protocol, so the pages' Content-Security-Policy (which
rightly refuses inline scripts) stays on."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client

from billing.models import Invoice
from billing.payments.models import PaymentAttempt
from billing.payments.services.methods import payment_method_add_card
from billing.services.catalog import coupon_create, price_create, product_create, tax_rate_create
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.events import events_dispatch_pending
from cobro.tenancy.context import use_organization
from customers.portal.session import SESSION_KEY
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
BLOCKING = ("serious", "critical")

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `make node-deps` (npm ci)")
    return AXE.read_text(encoding="utf-8")


def _world():
    org = OrganizationFactory(
        slug="cafe-a11y",
        display_name="Café Andino",
        legal_name="Café Andino SpA",
        brand_color="#8d4b2b",
        is_sandbox=True,
    )
    owner = UserFactory(email="owner@cafe-a11y.test")
    MembershipFactory(organization=org, user=owner, role="owner")
    with use_organization(org):
        iva = tax_rate_create(organization=org, name="IVA", percentage="19", country="CL")
        product = product_create(organization=org, name="Café mensual", description="1 kg")
        price = price_create(
            product=product,
            currency="CLP",
            amount_minor=12_990,
            tax_behavior="exclusive",
            tax_rate=iva,
            nickname="Mensual",
        )
        coupon_create(organization=org, code="bienvenida", name="Bienvenida", percent_off=10)
        customer = CustomerFactory(organization=org, name="Ana Pérez", email="ana@example.cl")
        CustomerFactory(organization=org, name="Bruno Soto", email="bruno@example.cl")
        payment_method_add_card(customer=customer, gateway="sandbox", token="tok_sandbox_success")
        sub = subscription_create(
            customer=customer, price=price, now=clock.now(org) - timedelta(days=3)
        )
    while events_dispatch_pending():  # what the workers do: charge, render the PDF, email
        pass
    with use_organization(org):
        invoice = Invoice.objects.get(subscription=sub)
        attempt = PaymentAttempt.objects.filter(invoice=invoice).first()
    return {
        "org": org,
        "owner": owner,
        "product": product,
        "price": price,
        "customer": customer,
        "sub": sub,
        "invoice": invoice,
        "attempt": attempt,
    }


def _session_cookie(client: Client, live_server) -> list[dict]:
    return [
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}
    ]


def _audit(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)
            }));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING]


def _check_pages(page, live_server, axe_source, paths: dict[str, str], label: str) -> None:
    found: dict[str, list[dict]] = {}
    for name, path in paths.items():
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        violations = _audit(page, axe_source)
        page.screenshot(path=str(ARTIFACTS / f"a11y-{label}-{name}.png"), full_page=True)
        if violations:
            found[f"{name} ({path})"] = violations
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def _billing_run(org):
    """A finished "Run billing now" with its summary."""
    from billing.models import BillingRun

    return BillingRun.unscoped.create(
        organization=org, kind="manual", status="succeeded", now=clock.now(), total=3, done=3,
        subscriptions_renewed=3, invoices_issued=3, charges_enqueued=2,
    )  # fmt: skip


def _webhook_endpoint(org):
    """An endpoint with one failed delivery in its log (made directly: no DNS lookup)."""
    import uuid

    from cobro.webhooks.models import WebhookDelivery, WebhookEndpoint

    now = clock.now()
    endpoint = WebhookEndpoint.unscoped.create(
        organization=org, url="https://erp.example.com/cobro", description="ERP",
        event_types=["invoice.*"], created_at=now, updated_at=now,
    )  # fmt: skip
    event_id = uuid.uuid4()
    WebhookDelivery.unscoped.create(
        organization=org, endpoint=endpoint, event_id=event_id, event_type="invoice.paid",
        webhook_id=f"msg_{event_id.hex}", payload={}, status="failed", attempts=3,
        last_response_status=500, created_at=now,
    )  # fmt: skip
    return endpoint


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_staff_pages_have_no_serious_violations(live_server, browser, axe_source, device):
    w = _world()
    client = Client()
    client.force_login(w["owner"])
    context = browser.new_context(locale="es-419", **VIEWPORTS[device])
    context.set_default_timeout(15_000)
    context.add_cookies(_session_cookie(client, live_server))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    paths = {
        "home": "/",
        "customers": "/customers/",
        "customer": f"/customers/{w['customer'].pk}/",
        "subscriptions": "/billing/subscriptions/",
        "subscription": f"/billing/subscriptions/{w['sub'].pk}/",
        "invoices": "/billing/invoices/",
        "invoice": f"/billing/invoices/{w['invoice'].pk}/",
        "payments": "/payments/",
        "catalog": f"/billing/catalog/products/{w['product'].pk}/",
        "simulator": f"/billing/simulator/prices/{w['price'].pk}/?quantity=1&months=12",
        "settings": "/settings/",
        "sender": "/messaging/settings/",
        "portal-settings": "/customers/portal-settings/",
        "api-keys": "/settings/api-keys/",
        "billing-run-start": "/billing/runs/new/",
        "billing-run": f"/billing/runs/{_billing_run(w['org']).pk}/",
        "webhooks": "/settings/webhooks/",
        "webhook": f"/settings/webhooks/{_webhook_endpoint(w['org']).pk}/",
    }
    if w["attempt"] is not None:
        paths["payment"] = f"/payments/{w['attempt'].pk}/"
    try:
        _check_pages(context.new_page(), live_server, axe_source, paths, f"staff-{device}")
    finally:
        context.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_portal_pages_have_no_serious_violations(live_server, browser, axe_source, device):
    w = _world()
    org = w["org"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Signed out: the sign-in page.
    context = browser.new_context(locale="es-419", **VIEWPORTS[device])
    context.set_default_timeout(15_000)
    try:
        _check_pages(
            context.new_page(),
            live_server,
            axe_source,
            {"login": f"/p/{org.slug}/login/"},
            f"portal-{device}",
        )
    finally:
        context.close()
    # Signed in as the customer (the portal session; sign-in is covered by test_portal.py).
    client = Client()
    session = client.session
    session[SESSION_KEY] = {"org": org.pk, "customer": w["customer"].pk}
    session.save()
    client.cookies["sessionid"] = session.session_key
    context = browser.new_context(locale="es-419", **VIEWPORTS[device])
    context.set_default_timeout(15_000)
    context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )
    base = f"/p/{org.slug}"
    paths = {
        "overview": f"{base}/",
        "invoices": f"{base}/invoices/",
        "invoice": f"{base}/invoices/{w['invoice'].pk}/",
        "payment-methods": f"{base}/payment-methods/",
        "subscription": f"{base}/subscriptions/{w['sub'].pk}/",
        "preferences": f"{base}/preferences/",
    }
    try:
        _check_pages(context.new_page(), live_server, axe_source, paths, f"portal-{device}")
    finally:
        context.close()
