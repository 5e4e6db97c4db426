"""The end customer's surveys page in the portal: pending surveys to answer (score and an
optional comment in one form) and the answers already given."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from customers.portal.views.base import PortalView
from feedback.error_codes import FeedbackError
from feedback.models import SurveyRequest, SurveyResponse
from feedback.services.surveys import survey_answer, survey_requests_pending


class SurveysPortalView(PortalView):
    nav_key = "surveys"

    def get(self, request):
        return self._page(request)

    def _page(self, request, status: int = 200, **extra):
        pending = list(survey_requests_pending(self.customer)[:10])
        for survey in pending:
            low, high = survey.score_range
            survey.scores = list(range(low, high + 1))
        answered = SurveyResponse.objects.filter(customer=self.customer).select_related("request")[
            :20
        ]
        extra["error_inline"] = extra.get("error_survey") in {s.pk for s in pending}
        return self.render(
            request,
            "feedback/portal/surveys.html",
            status=status,
            pending=pending,
            answered=answered,
            **extra,
        )


class SurveyAnswerPortalView(SurveysPortalView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        survey = (
            SurveyRequest.objects.select_related("organization", "customer")
            .filter(pk=pk, customer=self.customer)
            .first()
        )
        if survey is None:
            raise Http404
        try:
            survey_answer(
                request=survey,
                score=request.POST.get("score", ""),
                comment=request.POST.get("comment", ""),
                channel=SurveyResponse.Channel.PORTAL,
            )
        except FeedbackError as exc:
            return self._page(request, status=400, error=exc.message, error_survey=survey.pk)
        messages.success(request, _("Thank you for your answer!"))
        return redirect(self.url("surveys"))
