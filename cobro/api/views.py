"""Kernel endpoints of API v1."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework import mixins

from cobro.api import filters as f
from cobro.api.base import ApiView, ApiViewSet, Response
from cobro.api.serializers import EventOutputSerializer, OrganizationOutputSerializer
from cobro.models import OutboxEvent


class OrganizationView(ApiView):
    """The organization the API key belongs to."""

    resource = "organization"

    @extend_schema(
        summary="The organization of the API key",
        responses=OrganizationOutputSerializer,
        operation_id="organization_retrieve",
        tags=["organization"],
    )
    def get(self, request):
        return Response(OrganizationOutputSerializer(self.organization).data)


@extend_schema_view(
    list=extend_schema(summary="List events", tags=["events"]),
    retrieve=extend_schema(summary="Retrieve an event", tags=["events"]),
)
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The organization's domain events (what webhooks deliver), newest first."""

    resource = "events"
    serializer_class = EventOutputSerializer
    filterset_class = f.filterset("EventFilter", type=f.char_filter("type"))
    lookup_value_regex = "[^/]+"

    model = OutboxEvent

    def get_object(self):
        import uuid

        from rest_framework import exceptions

        try:
            uuid.UUID(str(self.kwargs.get("pk", "")))
        except ValueError:
            raise exceptions.NotFound(code="not_found") from None
        return super(ApiViewSet, self).get_object()


class SchemaView(SpectacularAPIView):
    """The OpenAPI document of API v1 (not itself part of the documented API)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar; its init script is a separate request (strict CSP)."""

    template_name = "cobro/api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    """Redoc from the sidecar, with no web fonts from a CDN and no inline script."""

    template_name = "cobro/api/redoc.html"
