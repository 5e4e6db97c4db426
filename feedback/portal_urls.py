"""Customer portal URLs of the feedback app (mounted under /p/<org_slug>/, namespace "portal")."""

from django.urls import path

from feedback.views import portal as v

urlpatterns: list = [
    path("surveys/", v.SurveysPortalView.as_view(), name="surveys"),
    path("surveys/<int:pk>/answer/", v.SurveyAnswerPortalView.as_view(), name="survey_answer"),
]
