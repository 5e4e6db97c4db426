"""Closing the loop: staff tag comments and record what they did about them."""

from __future__ import annotations

from django.db import transaction

from cobro import clock
from cobro.services.audit import audit_record
from feedback.error_codes import FeedbackError, FeedbackErrorCode
from feedback.models import FeedbackTag, SurveyResponse

MAX_TAGS = 10


def tags_parse(raw: str) -> list[str]:
    """Comma-separated tag names, trimmed, lower-cased, unique, 1-40 characters each."""
    names: list[str] = []
    for part in (raw or "").split(","):
        name = " ".join(part.split()).lower()
        if not name:
            continue
        if len(name) > 40:
            raise FeedbackError(FeedbackErrorCode.INVALID_TAG)
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise FeedbackError(FeedbackErrorCode.INVALID_TAG)
    return names


@transaction.atomic
def response_follow_up(
    *, response: SurveyResponse, loop_status: str, note: str, tags: list[str], actor, request=None
) -> SurveyResponse:
    """Set the response's tags and its follow-up status (open, acted, no action) with a note.
    Audited."""
    if loop_status not in SurveyResponse.LoopStatus.values:
        raise ValueError(loop_status)
    response = SurveyResponse.unscoped.select_for_update().get(pk=response.pk)
    before = {
        "loop_status": response.loop_status,
        "tags": sorted(response.tags.values_list("name", flat=True)),
    }
    tag_objs = [
        FeedbackTag.unscoped.get_or_create(organization_id=response.organization_id, name=n)[0]
        for n in tags
    ]
    response.tags.set(tag_objs)
    if loop_status != response.loop_status or note != response.loop_note:
        response.loop_status = loop_status
        response.loop_note = (note or "").strip()[:500]
        response.loop_at = clock.now(response.organization)
        response.loop_by_label = getattr(actor, "email", "") or ""
        response.save(update_fields=["loop_status", "loop_note", "loop_at", "loop_by_label"])
    audit_record(
        organization=response.organization,
        actor=actor,
        action="feedback.response_followed_up",
        target=response,
        changes={
            "loop_status": [before["loop_status"], response.loop_status],
            "tags": [before["tags"], sorted(tags)],
        },
        request=request,
    )
    return response
