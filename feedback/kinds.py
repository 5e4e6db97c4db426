"""Message kinds of the feedback app (topic "surveys"): the NPS and CSAT survey emails with
one-click score links, and the post-sale follow-ups (thank-you after the first payment,
subscription anniversary, satisfaction check with CSAT links).

Every follow-up goes through the "surveys" topic: a customer who turned surveys off gets
none of them (the message is logged as skipped)."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from customers.messaging.kinds import (
    Built,
    MessageKind,
    base_context,
    portal_url,
    register_kind,
    sample_base,
)
from customers.messaging.models import Topic


def _portal_surveys_url(organization) -> str:
    try:
        return settings.SITE_URL + reverse("portal:surveys", kwargs={"org_slug": organization.slug})
    except NoReverseMatch:
        return portal_url(organization)


def _survey_context(message) -> dict:
    from feedback.models import SurveyRequest
    from feedback.services.surveys import survey_answer_url, survey_comment_url

    request = (
        SurveyRequest.unscoped.select_related("customer__organization", "organization")
        .filter(pk=message.params.get("survey_request_id"), organization_id=message.organization_id)
        .first()
    )
    customer = message.customer
    context = base_context(customer)
    if request is None:
        return {**context, "score_links": [], "comment_url": "", "survey_url": ""}
    low, high = request.score_range
    context.update(
        {
            "score_links": [
                {"score": str(n), "url": survey_answer_url(request, n)}
                for n in range(low, high + 1)
            ],
            "score_low": str(low),
            "score_high": str(high),
            "comment_url": survey_comment_url(request),
            "survey_url": _portal_surveys_url(customer.organization),
        }
    )
    return context


def _build_survey(message) -> Built:
    return Built(context=_survey_context(message))


def _build_followup(message) -> Built:
    context = base_context(message.customer)
    context["years"] = str(message.params.get("years", ""))
    context["plan_name"] = str(message.params.get("plan_name", ""))
    if message.params.get("survey_request_id"):
        context = {**_survey_context(message), **context}
    return Built(context=context)


def _sample(kind: str):
    def sample(organization, language: str) -> dict:
        low, high = (0, 10) if kind == "nps" else (1, 5)
        base = portal_url(organization)
        return {
            **sample_base(organization, language),
            "score_links": [
                {"score": str(n), "url": f"{base}#score-{n}"} for n in range(low, high + 1)
            ],
            "score_low": str(low),
            "score_high": str(high),
            "comment_url": base,
            "survey_url": base,
            "years": "1",
            "plan_name": "Plan Pro",
        }

    return sample


for key, label, build, sample_kind in [
    ("survey_nps", _("NPS survey"), _build_survey, "nps"),
    ("survey_csat", _("CSAT survey"), _build_survey, "csat"),
    ("followup_thank_you", _("Thank-you after the first payment"), _build_followup, "nps"),
    ("followup_anniversary", _("Subscription anniversary"), _build_followup, "nps"),
    ("followup_satisfaction", _("Satisfaction check"), _build_followup, "csat"),
]:
    register_kind(
        MessageKind(
            key=key, topic=Topic.SURVEYS, label=label, build=build, sample=_sample(sample_kind)
        )
    )
