"""Support services: the only code that writes conversations, entries and attachments.

Customer side: ``conversation_open`` (portal form or a first email) and ``customer_message_add``
(a follow-up). Staff side: ``reply_send`` (emails the customer and shows in the portal),
``note_add`` (internal, never shown to the customer), ``conversation_status_set``,
``conversation_assign``. Every staff write is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.db import transaction

from cobro import clock
from cobro.models import Membership
from cobro.services.audit import audit_record
from customers.messaging.models import Topic as MessageTopic
from customers.messaging.services import message_queue
from support.attachments import CheckedFile
from support.error_codes import SupportError, SupportErrorCode
from support.models import (
    TRANSITIONS,
    Attachment,
    Channel,
    Conversation,
    Entry,
    EntryKind,
    Status,
    Topic,
)

logger = logging.getLogger(__name__)

MAX_BODY = 10_000
MAX_SUBJECT = 200
PORTAL_OPEN_PER_HOUR = 5


def _clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not body:
        raise SupportError(SupportErrorCode.EMPTY_MESSAGE)
    if len(body) > MAX_BODY:
        raise SupportError(SupportErrorCode.MESSAGE_TOO_LONG, limit=MAX_BODY)
    return body


def _actor_label(actor) -> str:
    if actor is None:
        return ""
    name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return (name or getattr(actor, "email", "") or str(actor))[:200]


def _store_attachments(entry: Entry, files: Iterable[CheckedFile], now: datetime) -> None:
    for checked in files:
        attachment = Attachment(
            organization_id=entry.organization_id,
            entry=entry,
            filename=checked.filename,
            content_type=checked.content_type,
            size=len(checked.content),
            sha256=hashlib.sha256(checked.content).hexdigest(),
            created_at=now,
        )
        attachment.file.save("upload", ContentFile(checked.content), save=False)
        attachment.save()


def _lock(conversation: Conversation) -> Conversation:
    return Conversation.unscoped.select_for_update().get(
        pk=conversation.pk, organization_id=conversation.organization_id
    )


def linked_objects(*, customer, invoice_id=None, subscription_id=None):
    """The customer's own invoice and subscription by id; any other id is refused."""
    from billing.models import Invoice, Subscription

    invoice = subscription = None
    if invoice_id:
        invoice = Invoice.unscoped.filter(
            pk=invoice_id, organization_id=customer.organization_id, customer=customer
        ).first()
        if invoice is None:
            raise SupportError(SupportErrorCode.INVALID_LINK)
    if subscription_id:
        subscription = Subscription.unscoped.filter(
            pk=subscription_id, organization_id=customer.organization_id, customer=customer
        ).first()
        if subscription is None:
            raise SupportError(SupportErrorCode.INVALID_LINK)
    return invoice, subscription


@transaction.atomic
def conversation_open(
    *,
    customer,
    subject: str,
    topic: str,
    body: str,
    channel: str = Channel.PORTAL,
    invoice_id: int | None = None,
    subscription_id: int | None = None,
    files: Iterable[CheckedFile] = (),
    email_message_id: str = "",
    source_message=None,
    now: datetime | None = None,
) -> Conversation:
    """A customer asks: a new open conversation with its first message (and files).

    Through the portal a customer opens at most ``PORTAL_OPEN_PER_HOUR`` conversations in an
    hour (counted from the rows, so the limit holds across processes and restarts); inbound
    email has its own loop and auto-reply guards."""
    if topic not in Topic.values:
        raise SupportError(SupportErrorCode.INVALID_TOPIC)
    body = _clean_body(body)
    now = now or clock.now()
    if channel == Channel.PORTAL:
        # Serialize one customer's concurrent opens so the count below cannot be raced.
        type(customer).unscoped.select_for_update().filter(pk=customer.pk).first()
        recent = Conversation.unscoped.filter(
            customer=customer, channel=Channel.PORTAL, created_at__gt=now - timedelta(hours=1)
        ).count()
        if recent >= PORTAL_OPEN_PER_HOUR:
            raise SupportError(SupportErrorCode.TOO_MANY_CONVERSATIONS, limit=PORTAL_OPEN_PER_HOUR)
    subject = " ".join((subject or "").split())[:MAX_SUBJECT] or body.splitlines()[0][:80]
    invoice, subscription = linked_objects(
        customer=customer, invoice_id=invoice_id, subscription_id=subscription_id
    )
    conversation = Conversation.unscoped.create(
        organization_id=customer.organization_id,
        customer=customer,
        subject=subject,
        topic=topic,
        status=Status.OPEN,
        channel=channel,
        invoice=invoice,
        subscription=subscription,
        source_message=source_message,
        created_at=now,
        updated_at=now,
        last_customer_at=now,
    )
    entry = Entry.unscoped.create(
        organization_id=customer.organization_id,
        conversation=conversation,
        kind=EntryKind.CUSTOMER,
        body=body,
        channel=channel,
        author_label=customer.name[:200],
        email_message_id=email_message_id[:255],
        created_at=now,
    )
    _store_attachments(entry, files, now)
    return conversation


@transaction.atomic
def customer_message_add(
    *,
    conversation: Conversation,
    body: str,
    channel: str = Channel.PORTAL,
    files: Iterable[CheckedFile] = (),
    email_message_id: str = "",
    now: datetime | None = None,
) -> Entry:
    """The customer writes again: the conversation is open again (even if resolved)."""
    body = _clean_body(body)
    conv = _lock(conversation)
    now = now or clock.now()
    entry = Entry.unscoped.create(
        organization_id=conv.organization_id,
        conversation=conv,
        kind=EntryKind.CUSTOMER,
        body=body,
        channel=channel,
        author_label=conv.customer.name[:200],
        email_message_id=email_message_id[:255],
        created_at=now,
    )
    _store_attachments(entry, files, now)
    conv.status = Status.OPEN
    conv.resolved_at = None
    conv.updated_at = now
    conv.last_customer_at = now
    conv.save(update_fields=["status", "resolved_at", "updated_at", "last_customer_at"])
    return entry


@transaction.atomic
def reply_send(
    *,
    conversation: Conversation,
    body: str,
    actor,
    resolve: bool = False,
    request=None,
    now: datetime | None = None,
) -> Entry:
    """Staff answer: the reply is emailed to the customer (in their language; a support reply
    is transactional, so it goes like a billing message) and shows in the portal thread. The
    conversation then waits on the customer, or is resolved."""
    body = _clean_body(body)
    conv = _lock(conversation)
    now = now or clock.now()
    entry = Entry.unscoped.create(
        organization_id=conv.organization_id,
        conversation=conv,
        kind=EntryKind.REPLY,
        body=body,
        channel=Channel.STAFF,
        author=actor,
        author_label=_actor_label(actor),
        created_at=now,
    )
    message = message_queue(
        customer=conv.customer,
        template_key="support_reply",
        params={"conversation_id": conv.pk, "entry_id": entry.pk},
        dedupe_key=f"support_reply:{entry.pk}",
        topic=MessageTopic.BILLING,
    )
    entry.message = message
    entry.save(update_fields=["message"])
    if conv.first_response_at is None:
        conv.first_response_at = now
    before = conv.status
    conv.status = Status.RESOLVED if resolve else Status.WAITING
    if resolve:
        conv.resolved_at = now
    conv.updated_at = now
    conv.save()
    audit_record(
        organization=conv.organization,
        actor=actor,
        action="support.reply_sent",
        target=conv,
        changes={"status": [before, conv.status], "entry": entry.pk},
        request=request,
    )
    if resolve and before != Status.RESOLVED:
        _after_resolved(conv)
    return entry


@transaction.atomic
def note_add(*, conversation: Conversation, body: str, actor, request=None) -> Entry:
    """An internal note: staff only, never emailed nor shown in the portal."""
    body = _clean_body(body)
    conv = _lock(conversation)
    now = clock.now()
    entry = Entry.unscoped.create(
        organization_id=conv.organization_id,
        conversation=conv,
        kind=EntryKind.NOTE,
        body=body,
        channel=Channel.STAFF,
        author=actor,
        author_label=_actor_label(actor),
        created_at=now,
    )
    conv.updated_at = now
    conv.save(update_fields=["updated_at"])
    audit_record(
        organization=conv.organization,
        actor=actor,
        action="support.note_added",
        target=conv,
        changes={"entry": entry.pk},
        request=request,
    )
    return entry


@transaction.atomic
def conversation_status_set(
    *, conversation: Conversation, status: str, actor, request=None
) -> Conversation:
    conv = _lock(conversation)
    if status == conv.status:
        return conv
    if status not in TRANSITIONS.get(conv.status, frozenset()):
        raise SupportError(SupportErrorCode.INVALID_TRANSITION)
    before = conv.status
    now = clock.now()
    conv.status = status
    conv.resolved_at = now if status == Status.RESOLVED else None
    conv.updated_at = now
    conv.save(update_fields=["status", "resolved_at", "updated_at"])
    audit_record(
        organization=conv.organization,
        actor=actor,
        action="support.status_changed",
        target=conv,
        changes={"status": [before, status]},
        request=request,
    )
    if status == Status.RESOLVED:
        _after_resolved(conv)
    return conv


@transaction.atomic
def conversation_assign(
    *, conversation: Conversation, assignee, actor, request=None
) -> Conversation:
    conv = _lock(conversation)
    if (
        assignee is not None
        and not Membership.objects.filter(
            organization_id=conv.organization_id, user=assignee
        ).exists()
    ):
        raise SupportError(SupportErrorCode.ASSIGNEE_NOT_MEMBER)
    before = conv.assignee_id
    conv.assignee = assignee
    conv.updated_at = clock.now()
    conv.save(update_fields=["assignee", "updated_at"])
    audit_record(
        organization=conv.organization,
        actor=actor,
        action="support.assigned",
        target=conv,
        changes={"assignee": [before, assignee.pk if assignee else None]},
        request=request,
    )
    return conv


def event_add(*, conversation: Conversation, event: str, params: dict, actor) -> Entry:
    """A quick action's trace in the thread (the customer reads it in the portal)."""
    now = clock.now()
    entry = Entry.unscoped.create(
        organization_id=conversation.organization_id,
        conversation=conversation,
        kind=EntryKind.EVENT,
        body=event,
        event=event,
        params=params,
        channel=Channel.STAFF,
        author=actor,
        author_label=_actor_label(actor),
        created_at=now,
    )
    Conversation.unscoped.filter(pk=conversation.pk).update(updated_at=now)
    return entry


# -- after resolution: the CSAT question -------------------------------------------------------


def _after_resolved(conv: Conversation) -> None:
    pk = conv.pk
    transaction.on_commit(lambda: csat_request(conversation_id=pk))


def csat_request(*, conversation_id: int) -> bool:
    """Ask the customer how we did, through the feedback app's surveys when it is installed.
    Once per conversation; False when surveys are not available."""
    try:
        from feedback.services.surveys import survey_request
    except ImportError:
        return False
    conv = Conversation.unscoped.select_related("customer").get(pk=conversation_id)
    if conv.csat_requested_at is not None:
        return False
    from cobro.tenancy.context import use_organization

    with use_organization(conv.organization):
        try:
            survey_request(
                customer=conv.customer,
                kind="csat",
                source="support",
                subject_ref=f"support.conversation:{conv.pk}",
            )
        except Exception:
            logger.warning("CSAT request for conversation %s failed", conv.pk, exc_info=True)
            return False
    Conversation.unscoped.filter(pk=conv.pk, csat_requested_at__isnull=True).update(
        csat_requested_at=clock.now()
    )
    return True
