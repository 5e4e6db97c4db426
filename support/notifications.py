"""Support's part of messaging: the ``support_reply`` message kind, and the reply-able address
on every email Cobro sends for an organization (when an inbound address is configured).

A support reply's Reply-To carries the conversation's token and its References the customer's
last email, so the answer threads in their mail client and comes back to the conversation.
Any other email (an invoice, a receipt) carries a token of the message itself; its answer
starts a conversation with that customer. The Message-ID the email channel stores as the
message's ``provider_id`` maps an answer back too, through In-Reply-To/References.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.messaging.channels.base import OutgoingMessage
from customers.messaging.kinds import Built, MessageKind, base_context, register_kind, sample_base
from customers.messaging.models import Message, Topic
from customers.messaging.services import register_outgoing_hook
from support.tokens import inbound_configured, reply_address


def conversation_portal_url(conversation) -> str:
    return settings.SITE_URL + reverse(
        "portal:support_conversation",
        kwargs={"org_slug": conversation.organization.slug, "pk": conversation.pk},
    )


def _build_reply(message) -> Built:
    from support.models import Conversation, Entry

    conv = Conversation.unscoped.select_related("organization", "customer").get(
        pk=message.params["conversation_id"], organization_id=message.organization_id
    )
    entry = Entry.unscoped.get(pk=message.params["entry_id"], conversation=conv)
    return Built(
        context={
            **base_context(conv.customer),
            "conversation_subject": conv.subject,
            "reply_body": entry.body,
            "conversation_url": conversation_portal_url(conv),
        }
    )


def _sample_reply(organization, language: str) -> dict:
    return {
        **sample_base(organization, language),
        "conversation_subject": "Cobro duplicado",
        "reply_body": "Hola, revisamos tu cuenta y aplicamos un crédito.",
        "conversation_url": "",
    }


register_kind(
    MessageKind(
        key="support_reply",
        topic=Topic.BILLING,
        label=_("Support reply"),
        build=_build_reply,
        sample=_sample_reply,
        overridable=False,
    )
)


def reply_hook(message: Message, outgoing: OutgoingMessage) -> None:
    """Give ``outgoing`` a Reply-To that maps an answer back (and thread support replies)."""
    if message.channel != "email" or not inbound_configured():
        return
    if message.template_key == "support_reply":
        from support.models import Entry, EntryKind

        conversation_id = int(message.params["conversation_id"])
        outgoing.reply_to = reply_address("c", conversation_id)
        last_ids = list(
            Entry.unscoped.filter(conversation_id=conversation_id, kind=EntryKind.CUSTOMER)
            .exclude(email_message_id="")
            .order_by("-created_at", "-pk")
            .values_list("email_message_id", flat=True)[:5]
        )
        if last_ids:
            outgoing.headers["In-Reply-To"] = last_ids[0]
            outgoing.headers["References"] = " ".join(reversed(last_ids))
    else:
        outgoing.reply_to = reply_address("m", message.pk)


register_outgoing_hook(reply_hook)
