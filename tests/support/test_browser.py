"""In a real browser: a customer asks from the portal (with a screenshot attached, and a
script tag in the message), staff answer with a canned reply and apply a credit from the
inbox, and the customer sees both in the portal. No script injected by the customer runs in
the staff pages. Screenshots in artifacts/e2e/."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from cobro import clock
from customers.portal.session import SESSION_KEY
from support.models import CannedReply, Conversation
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.support.conftest import png_bytes


def _cookie(client: Client, live_server) -> dict:
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_customer_asks_staff_answer_with_canned_reply_and_credit(
    live_server, browser, screenshot, tmp_path
):
    org = OrganizationFactory(slug="cafe-andino", display_name="Café Andino", brand_color="#8d4b2b")
    customer = CustomerFactory(organization=org, name="Ana Pérez", email="ana@example.cl")
    staff = UserFactory(email="equipo@cafe.test", first_name="Sofía")
    MembershipFactory(organization=org, user=staff, role="billing")
    now = clock.now()
    CannedReply.unscoped.create(
        organization=org,
        title="Cobro duplicado",
        body="Revisamos tu cuenta y aplicamos un crédito por el cobro duplicado.",
        created_at=now,
        updated_at=now,
    )
    portal = Client()
    session = portal.session
    session[SESSION_KEY] = {"org": org.pk, "customer": customer.pk}
    session.save()
    portal.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    staff_client = Client()
    staff_client.force_login(staff)
    shot_file = tmp_path / "cartola.png"
    shot_file.write_bytes(png_bytes((40, 20)))
    dialogs: list[str] = []

    # -- the customer asks -----------------------------------------------------------------
    customer_ctx = browser.new_context(locale="es-419", viewport={"width": 390, "height": 844})
    customer_ctx.add_cookies([_cookie(portal, live_server)])
    page = customer_ctx.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = f"{live_server.url}/p/{org.slug}"
    page.goto(f"{base}/support/")
    screenshot(page, "01-portal-empty")
    page.get_by_role("link", name="Hacer una consulta").click()
    page.get_by_label("Tema").select_option("payment")
    page.get_by_label("Asunto").fill("¿Por qué me cobraron dos veces? <script>alert('s')</script>")
    page.get_by_label("Mensaje").fill(
        "Aparecen dos cargos <img src=x onerror=alert('b')> este mes."
    )
    page.get_by_label("Adjuntos").set_input_files(str(shot_file))
    screenshot(page, "02-portal-form")
    page.get_by_role("button", name="Enviar").click()
    page.get_by_text("Recibimos tu mensaje").wait_for()
    screenshot(page, "03-portal-sent")
    conv = Conversation.unscoped.get(customer=customer)

    # -- staff answer with a canned reply and a credit -------------------------------------
    staff_ctx = browser.new_context(locale="es-419", viewport={"width": 1280, "height": 900})
    staff_ctx.add_cookies([_cookie(staff_client, live_server)])
    spage = staff_ctx.new_page()
    spage.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    spage.goto(f"{live_server.url}/support/")
    screenshot(spage, "04-inbox")
    spage.get_by_role("link", name="¿Por qué me cobraron dos veces?").click()
    spage.get_by_role("link", name="cartola.png").wait_for()
    spage.get_by_label("Respuesta guardada").select_option(label="Cobro duplicado")
    reply_box = spage.get_by_label("Respuesta al cliente")
    assert "aplicamos un crédito" in reply_box.input_value()
    screenshot(spage, "05-conversation-canned")
    spage.get_by_role("button", name="Enviar respuesta").click()
    spage.get_by_text("Respuesta enviada a ana@example.cl").wait_for()
    spage.get_by_text("Aplicar un crédito").click()
    spage.get_by_label("Monto").fill("5000")
    spage.get_by_label("Motivo").fill("Cobro duplicado de noviembre")
    spage.get_by_role("button", name="Revisar crédito").click()
    spage.get_by_text("Vas a aplicar un crédito de $5.000").wait_for()
    screenshot(spage, "06-confirm-credit")
    spage.get_by_role("button", name="Confirmar").click()
    spage.get_by_text("Listo: aplicar un crédito").wait_for()
    assert "$5.000" in spage.get_by_test_id("credit-balance").inner_text()
    screenshot(spage, "07-after-credit")

    # -- the customer sees both --------------------------------------------------------------
    page.goto(f"{base}/support/{conv.pk}/")
    thread = page.get_by_test_id("thread")
    thread.get_by_text("Revisamos tu cuenta y aplicamos un crédito").wait_for()
    thread.get_by_text("Se agregó un crédito de $5.000 a tu cuenta.").wait_for()
    screenshot(page, "08-portal-answered")
    assert dialogs == [], f"a customer's script ran: {dialogs}"
    customer_ctx.close()
    staff_ctx.close()
