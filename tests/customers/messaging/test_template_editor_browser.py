"""The template editor in a real browser: typing updates the live preview."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_editing_a_template_updates_the_preview(live_server, page, screenshot):
    org = OrganizationFactory(slug="acme", display_name="Acme SpA", brand_color="#0f766e")
    user = UserFactory(email="owner@acme.test")
    MembershipFactory(organization=org, user=user, role="owner")
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/messaging/templates/welcome/es-419/")
    preview = page.frame_locator("#preview-frame")
    preview.get_by_text("Asunto: Bienvenido a Acme SpA").wait_for()
    page.fill("#id_body", "<p>Hola {{ customer_name }}, gracias por elegirnos.</p>")
    preview.get_by_text("Hola María González, gracias por elegirnos.").wait_for()
    screenshot(page, "editor")
    page.fill("#id_body", "<p>{% if customer_name %}sin cerrar</p>")
    page.click("#template-form button.btn-primary")
    error = page.locator("#body-errors")
    error.wait_for()
    assert "Línea 1" in error.inner_text()
