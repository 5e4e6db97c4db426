"""Canned replies of an organization: saved answers staff insert into a reply."""

from __future__ import annotations

from django.db import transaction

from cobro import clock
from cobro.services.audit import audit_record
from support.models import CannedReply


@transaction.atomic
def canned_reply_save(
    *, organization, title: str, body: str, actor, canned: CannedReply | None = None, request=None
) -> CannedReply:
    """Create (``canned`` None) or update a canned reply. A duplicate title raises
    ``IntegrityError`` (unique per organization)."""
    now = clock.now()
    if canned is None:
        canned = CannedReply(organization=organization, created_at=now)
    canned.title = title.strip()
    canned.body = body.replace("\r\n", "\n").strip()
    canned.updated_at = now
    with transaction.atomic():
        canned.save()
    audit_record(
        organization=organization,
        actor=actor,
        action="support.canned_reply_saved",
        target=canned,
        changes={"title": canned.title},
        request=request,
    )
    return canned


@transaction.atomic
def canned_reply_delete(*, canned: CannedReply, actor, request=None) -> None:
    audit_record(
        organization=canned.organization,
        actor=actor,
        action="support.canned_reply_deleted",
        target=canned,
        changes={"title": canned.title},
        request=request,
    )
    canned.delete()
