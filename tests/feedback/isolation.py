"""Tenant isolation factories and URL cases of the feedback models (imported by
tests/isolation.py)."""

from __future__ import annotations

import uuid

from cobro import clock
from feedback.models import FeedbackSettings, FeedbackTag, FollowUp, PlanSnapshot, SurveyResponse
from feedback.services.surveys import survey_answer, survey_request
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.isolation import URL_ALLOWLIST, isolation_factory, make, marked, url_case

# One-click survey links are addressed by a signed token naming one request: holding the
# token (from the customer's email) is the authorization, like an unsubscribe link.
URL_ALLOWLIST["feedback:answer"] = "signed survey token (the recipient's capability)"
URL_ALLOWLIST["feedback:comment"] = "signed survey token (the recipient's capability)"


def _customer(org):
    return CustomerFactory(organization=org, name=marked(org, "feedback customer"))


@isolation_factory("feedback.feedbacksettings")
def _settings(org):
    return FeedbackSettings.unscoped.get_or_create(organization=org)[0]


@isolation_factory("feedback.surveyrequest")
def _request(org):
    return survey_request(customer=_customer(org), kind="nps", source="manual")


@isolation_factory("feedback.surveyresponse")
def _response(org):
    request = make("feedback.surveyrequest", org)
    response = survey_answer(
        request=request, score=4, comment=marked(org, "comentario"), channel="portal"
    )
    response.tags.add(make("feedback.feedbacktag", org))
    return response


@isolation_factory("feedback.feedbacktag")
def _tag(org):
    n = FeedbackTag.unscoped.filter(organization=org).count()
    return FeedbackTag.unscoped.create(organization=org, name=marked(org, f"tag{n}")[:40])


@isolation_factory("feedback.followup")
def _followup(org):
    customer = _customer(org)
    return FollowUp.unscoped.create(
        organization=org,
        customer=customer,
        kind=FollowUp.Kind.THANK_YOU,
        key=f"thank_you:{customer.pk}",
        created_at=clock.now(),
    )


@isolation_factory("feedback.plansnapshot")
def _snapshot(org):
    from billing.services.subscriptions import subscription_create
    from cobro.tenancy.context import use_organization

    with use_organization(org):
        sub = subscription_create(
            customer=_customer(org), price=PriceFactory(organization=org, amount_minor=9_000)
        )
    return PlanSnapshot.unscoped.create(
        organization=org,
        subscription=sub,
        customer=sub.customer,
        event_id=uuid.uuid4(),
        monthly_amount_minor=9_000,
        currency="CLP",
        created_at=clock.now(),
    )


@url_case("feedback:response")
def _response_detail(org):
    response = make("feedback.surveyresponse", org)
    assert isinstance(response, SurveyResponse)
    return {"pk": response.pk}


@url_case("portal:survey_answer")
def _portal_answer(org):
    return {"org_slug": org.slug, "pk": make("feedback.surveyrequest", org).pk}


@url_case("api:survey_response-detail")
def _api_survey_response(org):
    return {"pk": make("feedback.surveyresponse", org).pk}
