"""Feedback in a real browser: a customer answers from the email link without signing in
and adds a comment, answers another survey in the portal, and staff see the answers on the
feedback page (NPS chart, comments) and close the loop; screenshots land in artifacts/."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from customers.portal.session import SESSION_KEY
from feedback.models import SurveyResponse
from feedback.services.surveys import survey_answer_url, survey_request
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_feedback_journey(live_server, browser, screenshot):
    org = OrganizationFactory(slug="cafe-opina", display_name="Café Opina")
    owner = UserFactory(email="owner@opina.test")
    MembershipFactory(organization=org, user=owner, role="owner")
    ana = CustomerFactory(organization=org, name="Ana Pérez", email="ana@opina.test")
    with use_organization(org):
        subscription_create(customer=ana, price=PriceFactory(organization=org))
    nps = survey_request(customer=ana, kind="nps", source="manual")
    csat = survey_request(customer=ana, kind="csat", source="support", subject_ref="conv:1")
    base = live_server.url

    # One click from the email, no session at all.
    anon = browser.new_context(viewport={"width": 390, "height": 800}, locale="es-419")
    page = anon.new_page()
    link = survey_answer_url(nps, 6).removeprefix(settings.SITE_URL)
    page.goto(base + link)
    page.get_by_text("¡Gracias por tu respuesta!").wait_for()
    page.get_by_label("¿Algo que quieras contarnos? (opcional)").fill("El despacho se atrasó.")
    screenshot(page, "one-click-comment")
    page.get_by_role("button", name="Enviar comentario").click()
    page.get_by_text("¡Gracias! Guardamos tu comentario.").wait_for()
    page.goto(base + survey_answer_url(nps, 10).removeprefix(settings.SITE_URL))
    page.get_by_text("ya fue respondida").wait_for()
    screenshot(page, "answered-twice")
    anon.close()

    # The portal: the CSAT survey waits there; answer it with the keyboard.
    client = Client()
    session = client.session
    session[SESSION_KEY] = {"org": org.pk, "customer": ana.pk}
    session.save()
    portal = browser.new_context(viewport={"width": 390, "height": 800}, locale="es-419")
    portal.add_cookies([{"name": "sessionid", "value": session.session_key, "url": base}])
    page = portal.new_page()
    page.goto(f"{base}/p/{org.slug}/surveys/")
    card = page.locator(f'[data-survey="{csat.pk}"]')
    card.get_by_text("5", exact=True).click()
    screenshot(page, "portal-surveys")
    card.get_by_role("button", name="Enviar respuesta").click()
    page.get_by_text("No tienes encuestas pendientes").wait_for()
    portal.close()
    answers = {r.kind: (r.score, r.comment) for r in SurveyResponse.unscoped.all()}
    assert answers == {"nps": (6, "El despacho se atrasó."), "csat": (5, "")}

    # Staff: the feedback page, then close the loop on the comment.
    staff_client = Client()
    staff_client.force_login(owner)
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-419")
    staff.add_cookies(
        [{"name": "sessionid", "value": staff_client.cookies["sessionid"].value, "url": base}]
    )
    page = staff.new_page()
    page.goto(f"{base}/feedback/")
    page.get_by_text("El despacho se atrasó.").wait_for()
    assert page.locator('[data-metric="nps"] .stat').inner_text() == "-100"
    screenshot(page, "staff-feedback")
    nps_answer = SurveyResponse.unscoped.get(kind="nps")
    page.locator(f'tr[data-response="{nps_answer.pk}"] a').first.click()
    page.get_by_label("Seguimiento").select_option("acted")
    page.get_by_label("Qué hicimos").fill("Cambiamos de courier.")
    page.get_by_label("Etiquetas").fill("despacho")
    page.get_by_role("button", name="Guardar").click()
    page.get_by_text("Seguimiento guardado.").wait_for()
    screenshot(page, "staff-response")
    page.goto(f"{base}/customers/{ana.pk}/")
    page.get_by_text("NPS bajo: respondió 6 de 10").wait_for()
    screenshot(page, "customer-risk")
    staff.close()
    answer = SurveyResponse.unscoped.get(kind="nps")
    assert answer.loop_status == "acted"
    with use_organization(org):
        assert list(answer.tags.values_list("name", flat=True)) == ["despacho"]
