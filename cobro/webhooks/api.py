"""API of webhook endpoints (with secret rotation) and the delivery log (with replay)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action

from cobro.api import filters as f
from cobro.api.base import ApiViewSet, Response, status
from cobro.api.fields import InputSerializer, StrictBooleanField
from cobro.webhooks import services
from cobro.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


class WebhookEndpointOutputSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "failure_streak",
            "failing_since",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_...), shown only now.")

    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateInputSerializer(InputSerializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=100,
        help_text='Exact types ("invoice.paid") or prefixes ("invoice.*"); empty: every event.',
    )


class WebhookEndpointUpdateInputSerializer(WebhookEndpointCreateInputSerializer):
    url = serializers.URLField(max_length=2000, required=False)
    enabled = StrictBooleanField(required=False)


class SecretOutputSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown only now.")


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "webhook_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_response_status",
            "last_response_body",
            "last_error",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class EmptyWebhookInputSerializer(InputSerializer):
    pass


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints", tags=["webhooks"]),
    retrieve=extend_schema(summary="Retrieve a webhook endpoint", tags=["webhooks"]),
)
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "webhooks"
    serializer_class = WebhookEndpointOutputSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    model = WebhookEndpoint

    @extend_schema(
        summary="Create a webhook endpoint",
        tags=["webhooks"],
        request=WebhookEndpointCreateInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "Invoices only",
                value={"url": "https://erp.example.cl/cobro", "event_types": ["invoice.*"]},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = WebhookEndpointCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            organization=self.organization, **data.validated_data
        )
        body = dict(WebhookEndpointOutputSerializer(endpoint).data, secret=secret)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Update a webhook endpoint (enable it again after it was disabled)",
        tags=["webhooks"],
        request=WebhookEndpointUpdateInputSerializer,
        responses=WebhookEndpointOutputSerializer,
    )
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = WebhookEndpointUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        summary="Rotate the signing secret",
        description="The old secret keeps signing (a second signature) for 24 hours.",
        tags=["webhooks"],
        request=EmptyWebhookInputSerializer,
        responses=SecretOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        EmptyWebhookInputSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"secret": services.webhook_endpoint_rotate_secret(endpoint=endpoint)})


WebhookDeliveryFilter = f.filterset(
    "WebhookDeliveryFilter",
    endpoint=f.id_filter("endpoint"),
    status=f.choice_filter("status", DeliveryStatus.choices),
    event_type=f.char_filter("event_type"),
)


@extend_schema_view(
    list=extend_schema(summary="The delivery log", tags=["webhooks"]),
    retrieve=extend_schema(summary="Retrieve a delivery", tags=["webhooks"]),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "webhooks"
    serializer_class = WebhookDeliveryOutputSerializer
    filterset_class = WebhookDeliveryFilter

    model = WebhookDelivery

    @extend_schema(
        summary="Replay a delivery (same webhook-id)",
        tags=["webhooks"],
        request=EmptyWebhookInputSerializer,
        responses=WebhookDeliveryOutputSerializer,
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = self.get_object()
        EmptyWebhookInputSerializer(data=request.data).is_valid(raise_exception=True)
        delivery = services.webhook_delivery_replay(delivery=delivery)
        return Response(WebhookDeliveryOutputSerializer(delivery).data)
