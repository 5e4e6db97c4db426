"""Output serializers of the feedback API (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from feedback.models import SurveyResponse


class SurveyResponseOutputSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", help_text="Customer id.")
    survey_request = serializers.IntegerField(source="request_id", help_text="Survey request id.")
    asked_at = serializers.DateTimeField(source="request.created_at")
    subject_ref = serializers.CharField(
        source="request.subject_ref",
        help_text='What the survey was about, e.g. "invoice:12" (may be empty).',
    )
    tags: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name"
    )
    score = serializers.IntegerField(help_text="NPS: 0-10; CSAT: 1-5.")

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "customer",
            "survey_request",
            "kind",
            "source",
            "subject_ref",
            "score",
            "comment",
            "channel",
            "tags",
            "loop_status",
            "loop_note",
            "asked_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
