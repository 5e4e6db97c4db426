"""Routes of the feedback API (composed into /api/v1/ by cobro/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from feedback.api import views

router = SimpleRouter(trailing_slash=False)
router.register("survey_responses", views.SurveyResponseViewSet, basename="survey_response")

urlpatterns = [*router.urls]
