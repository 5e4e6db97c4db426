"""One-click survey answers from an email, without signing in.

``GET /feedback/r/<token>/<score>/`` records the score (the link in the email *is* the
answer) and shows the optional comment page; ``/feedback/r/<token>/comment/`` saves the
comment. The token is signed and names one request; a second click on any score of the same
email is refused clearly and the first answer is kept. Pages render in the customer's
language, branded as the organization's portal."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views import View

from cobro.tenancy.context import use_organization
from feedback.error_codes import FeedbackError, FeedbackErrorCode
from feedback.models import SurveyResponse
from feedback.services.surveys import (
    survey_answer,
    survey_comment,
    survey_request_from_token,
)

STATUS_OF = {
    FeedbackErrorCode.SCORE_OUT_OF_RANGE: 400,
    FeedbackErrorCode.COMMENT_TOO_LONG: 400,
    FeedbackErrorCode.NOT_ANSWERED: 400,
    FeedbackErrorCode.ALREADY_ANSWERED: 409,
    FeedbackErrorCode.EXPIRED: 410,
}


class _SurveyLinkView(View):
    def dispatch(self, request, *args, **kwargs):
        try:
            self.survey = survey_request_from_token(kwargs.pop("token"))
        except FeedbackError as exc:
            raise Http404 from exc
        self.organization = self.survey.organization
        language = self.survey.customer.locale or "es-419"
        with use_organization(self.organization), translation.override(language):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        add_never_cache_headers(response)
        response["X-Robots-Tag"] = "noindex"
        response["Referrer-Policy"] = "same-origin"  # the token never leaves the site
        return response

    def page(self, request, *, status: int = 200, error: str = "", **extra):
        response = SurveyResponse.unscoped.filter(request_id=self.survey.pk).first()
        low, high = self.survey.score_range
        return render(
            request,
            "feedback/answer.html",
            {
                "organization": self.organization,
                "customer": None,
                "survey": self.survey,
                "answer": response,
                "scores": list(range(low, high + 1)),
                "error": error,
                **extra,
            },
            status=status,
        )


class AnswerLinkView(_SurveyLinkView):
    """The score links of the email. GET answers (one click); POST answers from the page."""

    def get(self, request, score: str):
        return self._answer(request, score)

    def post(self, request, score: str):
        return self._answer(request, request.POST.get("score", score))

    def _answer(self, request, score):
        try:
            survey_answer(request=self.survey, score=score, channel=SurveyResponse.Channel.EMAIL)
        except FeedbackError as exc:
            return self.page(
                request, status=STATUS_OF.get(exc.code, 400), error=exc.message, code=exc.code
            )
        return redirect("feedback:comment", token=request.resolver_match.kwargs["token"])


class CommentLinkView(_SurveyLinkView):
    def get(self, request):
        return self.page(request, saved=request.GET.get("saved") == "1")

    def post(self, request):
        try:
            survey_comment(request=self.survey, comment=request.POST.get("comment", ""))
        except FeedbackError as exc:
            return self.page(
                request,
                status=STATUS_OF.get(exc.code, 400),
                error=exc.message,
                code=exc.code,
                comment=request.POST.get("comment", ""),
            )
        token = request.resolver_match.kwargs["token"]
        from django.urls import reverse

        return redirect(reverse("feedback:comment", kwargs={"token": token}) + "?saved=1")
