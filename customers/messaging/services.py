"""Messaging services: consent, queueing and sending messages, bounces, announcements."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from cobro import clock
from cobro.models import Organization
from cobro.tenancy.context import use_organization
from customers.messaging import kinds as kind_registry
from customers.messaging.channels import (
    BouncedError,
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    channel_get,
)
from customers.messaging.models import (
    CRITICAL_TOPICS,
    DEFAULT_OPT_IN,
    Announcement,
    AnnouncementDelivery,
    AnnouncementStatus,
    CommunicationPreference,
    ConsentLog,
    Message,
    MessageStatus,
    MessagingSettings,
    SuppressedAddress,
    Topic,
)
from customers.messaging.rendering import render_message, source_for

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "messaging.unsubscribe"


# -- settings --------------------------------------------------------------------------------


def messaging_settings_for(organization) -> MessagingSettings:
    found = MessagingSettings.unscoped.filter(organization=organization).first()
    return found or MessagingSettings(organization=organization)


MESSAGING_SETTINGS_FIELDS = frozenset(
    {"sender_name", "reply_to", "upcoming_charge_days", "trial_ending_days"}
)


@transaction.atomic
def messaging_settings_update(*, organization, actor, **fields) -> MessagingSettings:
    """Save the organization's sender identity (the From name and Reply-To of every email it
    sends) and reminder timing; the change goes to the audit log. Validated before saving."""
    from cobro.services.audit import audit_record

    unknown = set(fields) - MESSAGING_SETTINGS_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    row, _created = MessagingSettings.unscoped.select_for_update().get_or_create(
        organization=organization
    )
    changes = {}
    for name, value in fields.items():
        old = getattr(row, name)
        if old != value:
            changes[name] = [old, value]
            setattr(row, name, value)
    row.full_clean()
    row.save()
    if changes:
        audit_record(
            organization=organization,
            actor=actor,
            action="messaging.settings_updated",
            target=row,
            changes=changes,
        )
    return row


# -- consent ---------------------------------------------------------------------------------


def preference_opted_in(*, customer, topic: str) -> bool:
    if topic in CRITICAL_TOPICS:
        return True
    pref = CommunicationPreference.unscoped.filter(customer=customer, topic=topic).first()
    return pref.opted_in if pref is not None else DEFAULT_OPT_IN.get(topic, False)


def address_suppressed(*, organization, email: str) -> bool:
    return SuppressedAddress.unscoped.filter(
        organization=organization, email__iexact=email
    ).exists()


def customer_may_receive(*, customer, topic: str) -> bool:
    """Billing-critical topics always go; others need consent and a deliverable address."""
    if topic in CRITICAL_TOPICS:
        return True
    if address_suppressed(organization=customer.organization, email=customer.email):
        return False
    return preference_opted_in(customer=customer, topic=topic)


@transaction.atomic
def preference_set(
    *,
    customer,
    topic: str,
    opted_in: bool,
    source: str,
    actor_label: str = "",
    ip: str | None = None,
) -> CommunicationPreference:
    """Record the customer's choice for ``topic`` and log it (when, how, by whom)."""
    if topic not in Topic.values:
        raise ValueError(f"unknown topic {topic!r}")
    if topic in CRITICAL_TOPICS:
        raise ValueError("billing messages cannot be turned off")
    now = clock.now()
    pref, _ = CommunicationPreference.unscoped.update_or_create(
        customer=customer,
        topic=topic,
        defaults={"opted_in": opted_in, "updated_at": now, "organization": customer.organization},
    )
    ConsentLog.unscoped.create(
        organization=customer.organization,
        customer=customer,
        topic=topic,
        opted_in=opted_in,
        source=source,
        actor_label=actor_label,
        ip=ip,
        created_at=now,
    )
    return pref


def unsubscribe_token(*, customer, topic: str) -> str:
    return signing.dumps(
        {"o": customer.organization_id, "c": customer.pk, "t": topic}, salt=UNSUBSCRIBE_SALT
    )


def unsubscribe_url(*, customer, topic: str) -> str:
    token = unsubscribe_token(customer=customer, topic=topic)
    return settings.SITE_URL + reverse("messaging:unsubscribe", kwargs={"token": token})


def unsubscribe_parse(token: str) -> tuple[int, int, str] | None:
    """(organization id, customer id, topic) of a valid token, else None."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(data["o"]), int(data["c"]), str(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


# -- queue and send --------------------------------------------------------------------------


def message_queue(
    *,
    customer,
    template_key: str,
    params: dict | None = None,
    dedupe_key: str,
    topic: str | None = None,
    channel: str = "email",
) -> Message:
    """Log a message as queued and send it after commit. Idempotent on ``dedupe_key``.

    A non-critical message to a customer who has not consented (or whose address bounced) is
    logged as ``skipped`` and not sent.
    """
    kind = kind_registry.kind_get(template_key)
    topic = topic or kind.topic
    org = customer.organization
    allowed = customer_may_receive(customer=customer, topic=topic)
    try:
        with transaction.atomic():
            message = Message.unscoped.create(
                organization=org,
                customer=customer,
                channel=channel,
                topic=topic,
                template_key=template_key,
                language=customer.locale or settings.LANGUAGE_CODE,
                to_address=customer.email,
                params=params or {},
                dedupe_key=dedupe_key,
                status=MessageStatus.QUEUED if allowed else MessageStatus.SKIPPED,
                error="" if allowed else "no consent or address suppressed",
                created_at=clock.now(),
            )
    except IntegrityError:
        return Message.unscoped.get(organization=org, dedupe_key=dedupe_key)
    if allowed:
        transaction.on_commit(lambda: _enqueue_send(message.pk))
    return message


def _enqueue_send(message_id: int) -> None:
    from customers.messaging.tasks import messaging_send

    try:
        messaging_send.apply_async(args=(message_id,))
    except Exception:
        logger.warning("could not enqueue message %s; the sweep resends", message_id, exc_info=True)


def message_build(message: Message) -> OutgoingMessage:
    """Render ``message`` for its channel (content is built now from its params)."""
    customer = message.customer
    org = customer.organization
    kind = kind_registry.kind_get(message.template_key)
    built = kind.build(message)
    if built.source is not None:
        subject_source, body_source = built.source
    else:
        subject_source, body_source, _ = source_for(
            organization=org, template_key=message.template_key, language=message.language
        )
    critical = message.topic in CRITICAL_TOPICS
    unsub = "" if critical else unsubscribe_url(customer=customer, topic=message.topic)
    with translation.override(message.language):
        layout = email_layout_context(organization=org, unsubscribe_url=unsub, topic=message.topic)
    rendered = render_message(
        subject_source=subject_source,
        body_source=body_source,
        context=built.context,
        layout=layout,
        language=message.language,
    )
    headers = {"X-Cobro-Message": str(message.pk)}
    if unsub:
        # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to the URL.
        headers["List-Unsubscribe"] = f"<{unsub}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    cfg = messaging_settings_for(org)
    outgoing = OutgoingMessage(
        to=message.to_address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender_name=cfg.sender_name or org.display_name,
        reply_to=cfg.reply_to,
        headers=headers,
        attachments=built.attachments,
    )
    for hook in _outgoing_hooks:
        hook(message, outgoing)
    return outgoing


# Higher layers adjust an outgoing message before it is sent (support sets a reply-able
# address that maps a reply back to its conversation): ``hook(message, outgoing) -> None``.
_outgoing_hooks: list[Callable[[Message, OutgoingMessage], None]] = []


def register_outgoing_hook(hook: Callable[[Message, OutgoingMessage], None]) -> None:
    if hook not in _outgoing_hooks:
        _outgoing_hooks.append(hook)


def email_layout_context(*, organization, unsubscribe_url: str, topic: str) -> dict:
    logo = ""
    if organization.logo and organization.logo.name:
        logo = settings.SITE_URL + organization.logo.url
    return {
        "brand_name": organization.display_name,
        "legal_name": organization.legal_name or organization.display_name,
        "address": " · ".join(ln for ln in (organization.address or "").splitlines() if ln),
        "brand_color": organization.brand_color or "#1f6feb",
        "logo_url": logo,
        "unsubscribe_url": unsubscribe_url,
        "topic_label": str(Topic(topic).label),
        "portal_url": kind_registry.portal_url(organization),
    }


def message_send(*, message_id: int, final_attempt: bool = False) -> Message:
    """Send a queued message once. Transient failures raise ``TransientSendError`` (the task
    retries) unless this is the final attempt, which marks the message failed."""
    org_id = Message.unscoped.filter(pk=message_id).values_list("organization_id", flat=True)
    organization = Organization.objects.get(pk=org_id.get())
    # Tasks arrive without a tenant: builders read the message's organization's rows.
    with use_organization(organization):
        return _message_send(message_id=message_id, final_attempt=final_attempt)


def _message_send(*, message_id: int, final_attempt: bool) -> Message:
    with transaction.atomic():
        message = (
            Message.unscoped.select_for_update()
            .select_related("customer", "customer__organization")
            .get(pk=message_id)
        )
        if message.status != MessageStatus.QUEUED:
            return message  # already sent, failed for good, bounced or skipped
        message.attempts += 1
        message.save(update_fields=["attempts"])
    customer = message.customer
    if not message.is_critical and not customer_may_receive(customer=customer, topic=message.topic):
        return _finish(message, MessageStatus.SKIPPED, error="consent withdrawn before sending")
    try:
        outgoing = message_build(message)
        provider_id = channel_get(message.channel).send(outgoing)
    except BouncedError as exc:
        suppress_address(
            organization=customer.organization, email=message.to_address, detail=str(exc)
        )
        return _finish(message, MessageStatus.BOUNCED, error=str(exc))
    except PermanentSendError as exc:
        return _finish(message, MessageStatus.FAILED, error=str(exc))
    except TransientSendError as exc:
        if final_attempt:
            return _finish(message, MessageStatus.FAILED, error=f"gave up: {exc}")
        Message.unscoped.filter(pk=message.pk).update(error=str(exc)[:2000])
        raise
    Message.unscoped.filter(pk=message.pk).update(
        status=MessageStatus.SENT,
        sent_at=clock.now(),
        provider_id=provider_id,
        subject=outgoing.subject[:300],
        body_text=outgoing.text,
        error="",
    )
    message.refresh_from_db()
    return message


def _finish(message: Message, status: str, *, error: str) -> Message:
    Message.unscoped.filter(pk=message.pk).update(status=status, error=error[:2000])
    message.refresh_from_db()
    return message


def suppress_address(*, organization, email: str, detail: str = "", reason: str = "bounce"):
    try:
        with transaction.atomic():
            SuppressedAddress.unscoped.create(
                organization=organization,
                email=email,
                reason=reason,
                detail=detail[:2000],
                created_at=clock.now(),
            )
    except IntegrityError:
        pass  # already suppressed


def message_mark_bounced(*, provider_id: str, detail: str = "") -> Message | None:
    """A provider reported a bounce after delivery (webhook/DSN): mark it, suppress the
    address so no further non-critical messages go to it."""
    message = Message.unscoped.filter(provider_id=provider_id).first()
    if message is None:
        return None
    _finish(message, MessageStatus.BOUNCED, error=detail or "bounced")
    suppress_address(organization=message.organization, email=message.to_address, detail=detail)
    return message


# -- announcements ---------------------------------------------------------------------------

# Segment providers: ``choices(organization) -> [(key, label)]`` and
# ``resolve(organization, key) -> customer queryset | None`` (None: not my key). Higher layers
# (billing) add segments such as "active subscribers of a plan".
_segment_providers: list[tuple[Callable, Callable]] = []


def register_segments(choices: Callable, resolve: Callable) -> None:
    _segment_providers.append((choices, resolve))


def segment_choices(organization) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for choices, _ in _segment_providers:
        out.extend((key, str(label)) for key, label in choices(organization))
    return out


def segment_customers(*, organization, segment: str):
    for _, resolve in _segment_providers:
        found = resolve(organization, segment)
        if found is not None:
            return found
    raise ValueError(f"unknown segment {segment!r}")


def _all_choices(organization):
    from django.utils.translation import gettext as _

    return [("all", _("All customers"))]


def _all_resolve(organization, key: str):
    from customers.models import Customer

    return Customer.unscoped.filter(organization=organization) if key == "all" else None


register_segments(_all_choices, _all_resolve)


def announcement_send(*, announcement: Announcement) -> Announcement:
    """Queue the announcement to every customer of its segment who consented; log the rest.

    Idempotent: a customer already in the send log is not messaged again.
    """
    org = announcement.organization
    customers = segment_customers(organization=org, segment=announcement.segment)
    queued = skipped = 0
    now = clock.now()
    for customer in customers.select_related("organization").iterator():
        if AnnouncementDelivery.unscoped.filter(
            announcement=announcement, customer=customer
        ).exists():
            continue
        with transaction.atomic():
            if address_suppressed(organization=org, email=customer.email):
                outcome, message = AnnouncementDelivery.Outcome.SUPPRESSED, None
            elif not preference_opted_in(customer=customer, topic=announcement.topic):
                outcome, message = AnnouncementDelivery.Outcome.NO_CONSENT, None
            else:
                message = message_queue(
                    customer=customer,
                    template_key="announcement",
                    params={"announcement_id": announcement.pk},
                    dedupe_key=f"announcement:{announcement.pk}:{customer.pk}",
                    topic=announcement.topic,
                )
                outcome = AnnouncementDelivery.Outcome.QUEUED
            AnnouncementDelivery.unscoped.create(
                organization=org,
                announcement=announcement,
                customer=customer,
                message=message,
                outcome=outcome,
                created_at=now,
            )
        if outcome == AnnouncementDelivery.Outcome.QUEUED:
            queued += 1
        else:
            skipped += 1
    Announcement.unscoped.filter(pk=announcement.pk).update(
        status=AnnouncementStatus.SENT,
        sent_at=now,
        queued_count=announcement.queued_count + queued,
        skipped_count=announcement.skipped_count + skipped,
    )
    announcement.refresh_from_db()
    return announcement
