"""Message kinds: what a template key means, its topic, and how its content is built.

A kind builds its context (plain strings) and attachments from the message's ``params`` at
send time, so a retry sends what is true then. Higher layers register their own kinds
(billing registers invoice_issued, payment_receipt, ...) without this app importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.messaging.channels.base import Attachment
from customers.messaging.models import Topic


@dataclass
class Built:
    context: dict
    attachments: list[Attachment] = field(default_factory=list)
    # (subject, body) template sources that replace the template's (announcements).
    source: tuple[str, str] | None = None


@dataclass(frozen=True)
class MessageKind:
    key: str
    topic: str
    label: str | Promise
    build: Callable[..., Built]  # build(message) -> Built
    sample: Callable[..., dict]  # sample(organization, language) -> context for previews
    overridable: bool = True


_kinds: dict[str, MessageKind] = {}


def register_kind(kind: MessageKind) -> MessageKind:
    _kinds[kind.key] = kind
    return kind


def kind_get(key: str) -> MessageKind:
    return _kinds[key]


def kinds_overridable() -> list[MessageKind]:
    return sorted((k for k in _kinds.values() if k.overridable), key=lambda k: k.key)


def portal_url(organization) -> str:
    return f"{settings.SITE_URL}/p/{organization.slug}/"


def base_context(customer) -> dict:
    org = customer.organization
    return {
        "customer_name": customer.name,
        "organization_name": org.display_name,
        "portal_url": portal_url(org),
    }


def sample_base(organization, language: str) -> dict:
    return {
        "customer_name": "María González",
        "organization_name": organization.display_name,
        "portal_url": portal_url(organization),
    }


def _build_welcome(message) -> Built:
    return Built(context=base_context(message.customer))


def _build_announcement(message) -> Built:
    from customers.messaging.models import Announcement

    announcement = Announcement.unscoped.get(
        pk=message.params["announcement_id"], organization_id=message.organization_id
    )
    return Built(
        context=base_context(message.customer),
        source=(announcement.subject, announcement.body),
    )


register_kind(
    MessageKind(
        key="welcome",
        topic=Topic.BILLING,
        label=_("Welcome"),
        build=_build_welcome,
        sample=sample_base,
    )
)
register_kind(
    MessageKind(
        key="announcement",
        topic=Topic.NEWS_PROMOTIONS,
        label=_("Announcement"),
        build=_build_announcement,
        sample=sample_base,
        overridable=False,
    )
)
