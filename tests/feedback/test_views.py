"""Staff feedback pages (overview, closing the loop, settings, permissions) and the portal
surveys page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.services.subscriptions import subscription_create
from cobro import clock
from customers.portal.models import CancellationFeedback
from feedback.models import FeedbackSettings, SurveyResponse
from feedback.services.surveys import survey_answer, survey_request
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.customers.portal.conftest import portal_client
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _answer(customer, kind, score, comment=""):
    request = survey_request(customer=customer, kind=kind, source="manual")
    return survey_answer(request=request, score=score, comment=comment, channel="portal")


def test_overview_shows_nps_csat_trend_reasons_and_comments(owner_client, in_org, org, customer):
    _answer(customer, "nps", 10)
    _answer(customer, "nps", 9, "Excelente")
    _answer(customer, "nps", 2, "Muy caro")
    _answer(customer, "csat", 4)
    _answer(customer, "csat", 3)
    sub = subscription_create(customer=customer, price=PriceFactory(organization=org))
    for reason in ("too_expensive", "too_expensive", "switching"):
        CancellationFeedback.unscoped.create(
            organization=org,
            customer=customer,
            subscription=sub,
            reason=reason,
            comment="Encontré algo más barato" if reason == "switching" else "",
            at_period_end=True,
            created_at=clock.now(),
        )
    body = owner_client.get(reverse("feedback:home")).content.decode()
    assert '<div class="stat">33</div>' in body  # (2 promoters - 1 detractor) / 3
    assert "3,5 / 5" in body  # CSAT average, es-419 number format
    assert '<polyline points="' in body and "NPS por mes" in body
    assert 'data-reason="too_expensive"' in body and "2 (67 %)" in body
    assert "Encontré algo más barato" in body
    assert "Muy caro" in body and "Excelente" in body
    filtered = owner_client.get(reverse("feedback:home"), {"category": "detractor"})
    text = filtered.content.decode()
    assert "Muy caro" in text and "Excelente" not in text


def test_empty_overview_explains_itself(owner_client, org):
    body = owner_client.get(reverse("feedback:home")).content.decode()
    assert "Aún no hay respuestas" in body


def test_billing_member_closes_the_loop_with_tags(client, in_org, org, customer):
    response = _answer(customer, "nps", 4, "El despacho llegó tarde")
    user = UserFactory(email="billing@acme.test")
    MembershipFactory(organization=org, user=user, role="billing")
    client.force_login(user)
    url = reverse("feedback:response", kwargs={"pk": response.pk})
    done = client.post(
        url,
        {
            "loop_status": "acted",
            "loop_note": "Cambiamos de courier",
            "tags": "Despacho, pagos, despacho",
        },
    )
    assert done.status_code == 302
    response.refresh_from_db()
    assert response.loop_status == "acted" and response.loop_note == "Cambiamos de courier"
    assert sorted(response.tags.values_list("name", flat=True)) == ["despacho", "pagos"]
    listing = client.get(reverse("feedback:home"), {"loop": "acted", "tag": "despacho"})
    assert "El despacho llegó tarde" in listing.content.decode()
    assert "Hicimos algo al respecto" in listing.content.decode()


def test_viewer_sees_but_cannot_change_follow_up_or_settings(client, in_org, org, customer):
    response = _answer(customer, "nps", 4, "Lento")
    user = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=user, role="viewer")
    client.force_login(user)
    url = reverse("feedback:response", kwargs={"pk": response.pk})
    page = client.get(url).content.decode()
    assert "Lento" in page and '<form method="post" class="form"' not in page
    assert (
        client.post(url, {"loop_status": "acted", "loop_note": "", "tags": ""}).status_code == 403
    )
    response.refresh_from_db()
    assert response.loop_status == "open"
    assert (
        client.post(reverse("feedback:settings"), {"payment_survey_every_n": 1}).status_code == 403
    )


def test_owner_changes_survey_settings_and_bad_input_changes_nothing(owner_client, org):
    url = reverse("feedback:settings")
    data = {
        "surveys_enabled": "on",
        "payment_survey_every_n": "5",
        "payment_survey_min_days": "60",
        "periodic_nps_days": "0",
        "cancellation_survey": "on",
        "satisfaction_check_days": "10",
        "thank_you_first_payment": "on",
        "request_expiry_days": "15",
    }
    assert owner_client.post(url, data).status_code == 302
    cfg = FeedbackSettings.unscoped.get(organization=org)
    assert (cfg.payment_survey_every_n, cfg.periodic_nps_days, cfg.anniversary_message) == (
        5,
        0,
        False,
    )
    bad = owner_client.post(
        url, {**data, "request_expiry_days": "0", "payment_survey_every_n": "2"}
    )
    assert bad.status_code == 400
    cfg.refresh_from_db()
    assert cfg.payment_survey_every_n == 5


def test_portal_lists_pending_surveys_and_answers_them_once(in_org, org, customer):
    request = survey_request(customer=customer, kind="csat", source="support", subject_ref="c:7")
    client = portal_client(customer)
    page = client.get(reverse("portal:surveys", kwargs={"org_slug": org.slug}))
    assert f'data-survey="{request.pk}"' in page.content.decode()
    url = reverse("portal:survey_answer", kwargs={"org_slug": org.slug, "pk": request.pk})
    bad = client.post(url, {"score": "6"})
    assert bad.status_code == 400
    assert "de 1 a 5" in bad.content.decode()
    assert client.post(url, {"score": "5", "comment": "Rápidos"}).status_code == 302
    again = client.post(url, {"score": "1"})
    assert again.status_code == 400 and "ya fue respondida" in again.content.decode()
    answer = SurveyResponse.unscoped.get()
    assert (answer.score, answer.comment, answer.channel) == (5, "Rápidos", "portal")
    after = client.get(reverse("portal:surveys", kwargs={"org_slug": org.slug})).content.decode()
    assert f'data-survey="{request.pk}"' not in after and "Rápidos" in after


def test_portal_refuses_another_customers_survey(in_org, org, customer):
    other = CustomerFactory(organization=org)
    theirs = survey_request(customer=other, kind="nps", source="manual")
    client = portal_client(customer)
    url = reverse("portal:survey_answer", kwargs={"org_slug": org.slug, "pk": theirs.pk})
    assert client.post(url, {"score": "10"}).status_code == 404
    assert not SurveyResponse.unscoped.exists()


def test_portal_nav_has_the_surveys_entry(in_org, org, customer):
    client = portal_client(customer)
    body = client.get(reverse("portal:surveys", kwargs={"org_slug": org.slug})).content.decode()
    assert reverse("portal:surveys", kwargs={"org_slug": org.slug}) in body
    assert "Encuestas" in body
