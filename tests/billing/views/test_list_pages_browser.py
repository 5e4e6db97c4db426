"""The staff list pages in a real browser, on a desktop and a phone: screenshots as artifacts,
no horizontal overflow of the page on a phone, the filters and the bulk reminder's selection and
confirmation usable with the keyboard only, and (when axe-core is installed) no serious
accessibility violation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

from billing.models import CollectionMethod
from billing.services.catalog import price_create, product_create
from billing.services.invoices import ManualItem, invoice_create_one_off
from billing.services.subscriptions import subscription_create
from cobro import clock
from cobro.events import event_emit
from cobro.tenancy.context import use_organization
from customers.messaging.models import Message
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
PAGES = {
    "customers": "/customers/",
    "subscriptions": "/billing/subscriptions/",
    "invoices": "/billing/invoices/",
    "invoices-bad-filter": "/billing/invoices/?date_from=2025-05-01&date_to=2025-04-01",
    "payments": "/payments/",
    "events": "/events/",
}


def _world():
    org = OrganizationFactory(slug="cafe-lists", display_name="Café Listas")
    owner = UserFactory(email="owner@cafe-lists.test")
    MembershipFactory(organization=org, user=owner, role="owner")
    with use_organization(org):
        product = product_create(organization=org, name="Café mensual")
        price = price_create(product=product, currency="CLP", amount_minor=15_990)
        for i, name in enumerate(["Ana Pérez", "Bruno Díaz", "Carla Núñez", "Diego Rojas"]):
            customer = CustomerFactory(
                organization=org, name=name, email=f"c{i}@example.com", city="Santiago"
            )
            subscription_create(customer=customer, price=price)
            when = datetime(2025, 3, 1 + i, 12, tzinfo=UTC)
            with clock.frozen(when):
                invoice_create_one_off(
                    customer=customer,
                    currency="CLP",
                    items=[ManualItem(description="Molienda", unit_amount_minor=9_990 * (i + 1))],
                    collection_method=CollectionMethod.SEND_INVOICE,
                    now=when,
                )
        with transaction.atomic():
            event_emit(organization=org, type="invoice.paid", payload={"invoice_id": 1})
    return org, owner


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _axe(page) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    return result


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_list_pages_on_desktop_and_phone(live_server, browser, screenshot, device):
    _org, owner = _world()
    client = Client()
    client.force_login(owner)
    context = browser.new_context(locale="es-419", **VIEWPORTS[device])
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    problems = {}
    for name, path in PAGES.items():
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        screenshot(page, f"{device}-{name}")
        if _overflow(page) > 1:
            problems[name] = f"page scrolls sideways by {_overflow(page)}px"
        if AXE.exists():
            violations = _axe(page)
            if violations:
                problems[f"{name} axe"] = violations
    context.close()
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_filter_and_bulk_reminder_with_the_keyboard_only(live_server, browser, screenshot):
    org, owner = _world()
    client = Client()
    client.force_login(owner)
    context = browser.new_context(locale="es-419", viewport={"width": 1280, "height": 800})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    # Overdue invoices only (each customer also has a subscription invoice that is not due).
    page.goto(live_server.url + "/billing/invoices/?overdue=on")
    page.focus("#id_q")
    page.keyboard.type("Bruno")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=Bruno**")
    assert page.locator("tbody tr").count() == 1
    # Select the row and continue, all from the keyboard.
    page.focus("input[name=ids]")
    page.keyboard.press("Space")
    page.focus("#bulk-action")
    page.keyboard.press("Tab")  # the "Continue" button
    page.keyboard.press("Enter")
    page.wait_for_selector("#bulk-summary")
    screenshot(page, "bulk-confirm")
    # The confirmation names the one overdue invoice and offers to send one reminder; the
    # sending itself (and its per-row summary) is covered by test_invoice_lists.py.
    assert page.get_by_role("button", name="Enviar 1 recordatorio").is_visible()
    with use_organization(org):
        assert not Message.objects.filter(template_key="invoice_reminder").exists()
    context.close()
