"""The organization's survey and follow-up settings."""

from __future__ import annotations

from django.db import transaction

from cobro import clock
from cobro.services.audit import audit_record
from feedback.models import FeedbackSettings


@transaction.atomic
def feedback_settings_update(
    *, organization, values: dict, actor, request=None
) -> FeedbackSettings:
    row, _ = FeedbackSettings.unscoped.select_for_update().get_or_create(organization=organization)
    changes = {}
    for field, value in values.items():
        old = getattr(row, field)
        if old != value:
            changes[field] = [old, value]
            setattr(row, field, value)
    row.updated_at = clock.now(organization)
    row.save()
    if changes:
        audit_record(
            organization=organization,
            actor=actor,
            action="feedback.settings_updated",
            target=row,
            changes=changes,
            request=request,
        )
    return row
