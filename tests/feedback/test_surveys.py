"""Surveys: asking, one-click answers from the email, answering twice, out-of-range scores,
expiry, consent and the email itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from cobro import clock
from customers.messaging.models import Message, MessageStatus
from customers.messaging.services import message_build, preference_set
from feedback.error_codes import FeedbackError, FeedbackErrorCode
from feedback.models import SurveyRequest, SurveyResponse
from feedback.services.surveys import (
    survey_answer,
    survey_answer_url,
    survey_comment_url,
    survey_request,
)
from tests.billing.factories import CustomerFactory
from tests.feedback.conftest import T0

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    from django.conf import settings

    return url.removeprefix(settings.SITE_URL)


def test_survey_request_queues_an_email_with_one_link_per_score(in_org, customer):
    request = survey_request(customer=customer, kind="nps", source="manual")
    message = Message.unscoped.get(dedupe_key=f"survey:{request.pk}")
    assert message.status == MessageStatus.QUEUED
    assert message.topic == "surveys"
    out = message_build(message)
    assert "¿nos recomendarías?" in out.subject
    for score in range(0, 11):
        assert _path(survey_answer_url(request, score)) in out.html
    assert "/r/" in out.text  # the plain-text part keeps the links


def test_csat_email_has_five_scores_and_english_for_english_customers(in_org, org):
    customer = CustomerFactory(organization=org, locale="en")
    request = survey_request(customer=customer, kind="csat", source="support", subject_ref="c:1")
    out = message_build(Message.unscoped.get(dedupe_key=f"survey:{request.pk}"))
    assert "how did we do?" in out.subject
    assert _path(survey_answer_url(request, 5)) in out.html
    assert _path(survey_answer_url(request, 0)) not in out.html
    assert _path(survey_answer_url(request, 6)) not in out.html


def test_asking_twice_about_the_same_subject_asks_once(in_org, customer):
    first = survey_request(customer=customer, kind="csat", source="support", subject_ref="conv:9")
    again = survey_request(customer=customer, kind="csat", source="support", subject_ref="conv:9")
    assert first.pk == again.pk
    assert SurveyRequest.unscoped.count() == 1
    assert Message.unscoped.filter(template_key="survey_csat").count() == 1


def test_unknown_kind_is_refused(in_org, customer):
    with pytest.raises(FeedbackError) as exc:
        survey_request(customer=customer, kind="ces", source="manual")
    assert exc.value.code == FeedbackErrorCode.UNKNOWN_KIND


def test_one_click_answer_without_signing_in_then_optional_comment(client, in_org, customer):
    request = survey_request(customer=customer, kind="nps", source="manual")
    response = client.get(_path(survey_answer_url(request, 9)))
    assert response.status_code == 302
    assert response["Location"] == _path(survey_comment_url(request))
    answer = SurveyResponse.unscoped.get(request=request)
    assert (answer.score, answer.channel, answer.comment) == (9, "email", "")
    request.refresh_from_db()
    assert request.status == "answered"
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "¡Gracias por tu respuesta!" in body and 'data-testid="answer-score">9<' in body
    done = client.post(response["Location"], {"comment": "  Muy buen servicio  "})
    assert done.status_code == 302
    answer.refresh_from_db()
    assert answer.comment == "Muy buen servicio"
    assert SurveyResponse.unscoped.count() == 1


def test_answering_twice_keeps_the_first_answer_and_says_so(client, in_org, customer):
    request = survey_request(customer=customer, kind="nps", source="manual")
    client.get(_path(survey_answer_url(request, 9)))
    second = client.get(_path(survey_answer_url(request, 2)))
    assert second.status_code == 409
    body = second.content.decode()
    assert "ya fue respondida" in body
    assert 'data-code="survey_already_answered"' in body
    assert SurveyResponse.unscoped.get(request=request).score == 9
    assert SurveyResponse.unscoped.count() == 1
    with pytest.raises(FeedbackError) as exc:
        survey_answer(request=request, score=3, channel="portal")
    assert exc.value.code == FeedbackErrorCode.ALREADY_ANSWERED


@pytest.mark.parametrize("score", ["11", "-1", "99", "abc", "7.5"])
def test_out_of_range_nps_scores_are_refused_and_nothing_is_recorded(
    client, in_org, customer, score
):
    request = survey_request(customer=customer, kind="nps", source="manual")
    url = reverse(
        "feedback:answer",
        kwargs={"token": _path(survey_answer_url(request, 1)).split("/")[3], "score": score},
    )
    response = client.get(url)
    assert response.status_code == 400
    assert "debe ser un número entero de 0 a 10" in response.content.decode()
    assert not SurveyResponse.unscoped.exists()
    request.refresh_from_db()
    assert request.status == "pending"


@pytest.mark.parametrize("score", [0, 6, -3])
def test_out_of_range_csat_scores_are_refused(in_org, customer, score):
    request = survey_request(customer=customer, kind="csat", source="manual")
    with pytest.raises(FeedbackError) as exc, translation.override("en"):
        survey_answer(request=request, score=score, channel="portal")
    assert exc.value.code == FeedbackErrorCode.SCORE_OUT_OF_RANGE
    assert exc.value.message == "The score must be a whole number from 1 to 5."
    assert not SurveyResponse.unscoped.exists()


def test_a_tampered_or_foreign_token_is_not_found(client, in_org, customer):
    request = survey_request(customer=customer, kind="nps", source="manual")
    path = _path(survey_answer_url(request, 9))
    token = path.split("/")[3]
    bad = path.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    assert client.get(bad).status_code == 404
    assert client.get("/feedback/r/nope/9/").status_code == 404
    assert not SurveyResponse.unscoped.exists()


def test_an_expired_survey_cannot_be_answered(client, in_org, customer):
    with clock.frozen(T0):
        request = survey_request(customer=customer, kind="nps", source="manual")
    with clock.frozen(T0 + timedelta(days=31)):
        response = client.get(_path(survey_answer_url(request, 8)))
    assert response.status_code == 410
    assert "expiró" in response.content.decode()
    assert not SurveyResponse.unscoped.exists()


def test_english_customer_reads_the_answer_page_in_english(client, in_org, org):
    customer = CustomerFactory(organization=org, locale="en")
    request = survey_request(customer=customer, kind="nps", source="manual")
    response = client.get(_path(survey_answer_url(request, 10)), follow=True)
    assert "Thank you for your answer!" in response.content.decode()


def test_no_email_without_consent_but_the_survey_waits_in_the_portal(in_org, customer):
    preference_set(customer=customer, topic="surveys", opted_in=False, source="portal")
    request = survey_request(customer=customer, kind="nps", source="manual")
    message = Message.unscoped.get(dedupe_key=f"survey:{request.pk}")
    assert message.status == MessageStatus.SKIPPED
    from customers.portal.session import SESSION_KEY  # noqa: F401 - the portal exists
    from feedback.services.surveys import survey_requests_pending

    assert list(survey_requests_pending(customer)) == [request]
