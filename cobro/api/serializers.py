from __future__ import annotations

from rest_framework import serializers

from cobro.models import Organization, OutboxEvent


class OrganizationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id",
            "slug",
            "display_name",
            "legal_name",
            "country",
            "default_currency",
            "time_zone",
            "locale",
            "is_sandbox",
        ]
        read_only_fields = fields


class EventOutputSerializer(serializers.ModelSerializer):
    data = serializers.DictField(source="payload")  # type: ignore[assignment]
    created_at = serializers.DateTimeField()

    class Meta:
        model = OutboxEvent
        fields = ["id", "type", "data", "subject_type", "subject_id", "created_at"]
        read_only_fields = fields
