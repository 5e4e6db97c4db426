"""Feedback API: survey responses (list and retrieve, filter by kind, source, customer and
answer date). Scope ``survey_responses:read``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from cobro.api import filters as f
from cobro.api.base import ApiViewSet
from feedback.api.serializers import SurveyResponseOutputSerializer
from feedback.models import SurveyKind, SurveyResponse, SurveySource

SurveyResponseFilter = f.filterset(
    "SurveyResponseFilter",
    kind=f.choice_filter("kind", SurveyKind.choices),
    source=f.choice_filter("source", SurveySource.choices),
    customer=f.id_filter("customer"),
    created_gte=f.datetime_filter("created_at", "gte"),
    created_lt=f.datetime_filter("created_at", "lt"),
)


@extend_schema_view(
    list=extend_schema(
        summary="List survey responses",
        description="NPS (0-10) and CSAT (1-5) answers, newest first.",
        tags=["survey responses"],
    ),
    retrieve=extend_schema(summary="Retrieve a survey response", tags=["survey responses"]),
)
class SurveyResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "survey_responses"
    serializer_class = SurveyResponseOutputSerializer
    filterset_class = SurveyResponseFilter

    model = SurveyResponse

    def scope_queryset(self, queryset):
        return queryset.select_related("request").prefetch_related("tags")
