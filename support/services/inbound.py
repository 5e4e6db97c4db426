"""Inbound email: a customer's answer to an email Cobro sent becomes a message of the right
conversation.

``inbound_ingest(raw)`` takes one RFC 5322 message (from ``manage.py support_ingest`` or the
signed webhook) and always records it in ``InboundEmail`` with what happened (nothing is
lost). It:

1. ignores automatic mail (Auto-Submitted, X-Autoreply/X-Autorespond, Precedence bulk/junk/
   list/auto_reply, bounces from mailer-daemon/postmaster, delivery reports, and our own
   messages coming back) so two robots never answer each other;
2. matches by a signed token in the recipient's plus-address (``reply+c12-<mac>@...``), else by
   In-Reply-To/References against the Message-IDs we sent (and the customer's earlier emails);
3. requires the sender to be that customer's address (a forwarded or spoofed answer is kept
   aside, not added);
4. keeps only the new text (quoted history and signature trimmed) and the attachments that pass
   the same checks as the portal's (refused ones are named in an internal note).
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from django.db import IntegrityError, transaction

from cobro import clock
from cobro.models import Organization
from cobro.tenancy.context import use_organization
from customers.messaging.models import Message
from customers.messaging.rendering import html_to_text
from support.attachments import attachment_check
from support.error_codes import SupportError
from support.models import (
    Channel,
    Conversation,
    Entry,
    InboundEmail,
    InboundOutcome,
    Topic,
)
from support.services.conversations import conversation_open, customer_message_add, note_add
from support.tokens import tokens_in

logger = logging.getLogger(__name__)

MAX_RAW_BYTES = 25 * 1024 * 1024

_AUTO_LOCALPARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply")
_PRECEDENCE_AUTO = {"bulk", "junk", "list", "auto_reply", "auto-reply"}


def is_auto_reply(msg: EmailMessage) -> str:
    """Why ``msg`` is automatic mail (empty string when a person wrote it)."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Response-Suppress"):
        if msg.get(header) is not None:
            return header
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in _PRECEDENCE_AUTO:
        return f"Precedence: {precedence}"
    if msg.get("X-Cobro-Message") is not None:
        return "our own message came back"
    if msg.get("X-Failed-Recipients") is not None or msg.get_content_type() == "multipart/report":
        return "delivery report"
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return "null return path"
    _, sender = parseaddr(str(msg.get("From", "")))
    local = sender.split("@", 1)[0].lower()
    if local in _AUTO_LOCALPARTS:
        return f"sent by {local}"
    return ""


# -- the new text of a reply -------------------------------------------------------------------

_QUOTE_HEADERS = [
    # "On Tue, 3 Nov 2026 at 10:00, Café <x@y> wrote:" (possibly wrapped over two lines)
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*El\b.{0,300}\bescribi[óo]:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Em\b.{0,300}\bescreveu:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*-{2,}\s*(Original Message|Mensaje original|Forwarded message)", re.I),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted header block
    re.compile(r"^\s*(From|De):\s.+", re.IGNORECASE),
]


def reply_text(body: str) -> str:
    """The text the customer wrote above the quoted history, without the signature."""
    lines = body.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        joined = line + (" " + lines[i + 1] if i + 1 < len(lines) else "")
        if line.startswith(">"):
            break
        if line.rstrip() == "--" or line == "-- ":
            break  # signature separator
        if any(p.match(line) for p in _QUOTE_HEADERS) or (
            _QUOTE_HEADERS[0].match(joined) or _QUOTE_HEADERS[1].match(joined)
        ):
            break
        out.append(line)
    return "\n".join(out).strip()


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return str(content)


def _message_ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]{1,250}>", value or "")


# -- matching ----------------------------------------------------------------------------------


@dataclass
class Match:
    organization: Organization
    customer_id: int
    conversation: Conversation | None = None
    source_message: Message | None = None
    how: str = ""
    extra: dict = field(default_factory=dict)


def _match_message(message: Message | None, how: str) -> Match | None:
    if message is None:
        return None
    if message.template_key == "support_reply":
        conv = Conversation.unscoped.filter(
            pk=message.params.get("conversation_id"), organization_id=message.organization_id
        ).first()
        if conv is not None:
            return Match(conv.organization, conv.customer_id, conversation=conv, how=how)
    return Match(message.organization, message.customer_id, source_message=message, how=how)


def match_conversation(msg: EmailMessage) -> Match | None:
    # Crossing tenants is the point here: the token or header tells which organization.
    recipients = [
        addr
        for _, addr in getaddresses(
            [
                str(v)
                for h in ("To", "Cc", "Delivered-To", "X-Original-To")
                for v in msg.get_all(h, [])
            ]
        )
    ]
    for kind, pk in tokens_in(recipients):
        if kind == "c":
            conv = Conversation.unscoped.select_related("organization").filter(pk=pk).first()
            if conv is not None:
                return Match(conv.organization, conv.customer_id, conversation=conv, how="token")
        else:
            found = _match_message(
                Message.unscoped.select_related("organization").filter(pk=pk).first(), "token"
            )
            if found is not None:
                return found
    referenced = _message_ids(str(msg.get("In-Reply-To", ""))) + list(
        reversed(_message_ids(str(msg.get("References", ""))))
    )
    for ref in referenced:
        found = _match_message(
            Message.unscoped.select_related("organization").filter(provider_id=ref).first(),
            "header",
        )
        if found is not None:
            return found
        entry = (
            Entry.unscoped.select_related("conversation", "conversation__organization")
            .filter(email_message_id=ref)
            .first()
        )
        if entry is not None:
            conv = entry.conversation
            return Match(conv.organization, conv.customer_id, conversation=conv, how="header")
    return None


# -- ingest ------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    outcome: str
    inbound: InboundEmail
    conversation: Conversation | None = None
    entry: Entry | None = None


def _record(raw: bytes, outcome: str, **fields) -> InboundEmail:
    return InboundEmail.objects.create(
        raw=raw[:MAX_RAW_BYTES], outcome=outcome, received_at=clock.now(), **fields
    )


def inbound_ingest(raw: bytes) -> IngestResult:
    """Parse one raw email and file it (see the module docstring). Never raises for bad
    input: the outcome says what happened and the raw message is kept."""
    try:
        msg = email.message_from_bytes(raw[:MAX_RAW_BYTES], policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        message_id = str(msg.get("Message-ID", "")).strip()[:255]
        _, sender = parseaddr(str(msg.get("From", "")))
        subject = " ".join(str(msg.get("Subject", "")).split())[:300]
    except Exception as exc:  # the email package raises many kinds on broken input
        return IngestResult(
            InboundOutcome.INVALID, _record(raw, InboundOutcome.INVALID, detail=repr(exc)[:300])
        )
    base = {"message_id": message_id, "from_address": sender[:254], "subject": subject}

    reason = is_auto_reply(msg)
    if reason:
        return IngestResult(
            InboundOutcome.AUTO_REPLY,
            _record(raw, InboundOutcome.AUTO_REPLY, detail=reason, **base),
        )
    match = match_conversation(msg)
    if match is None:
        return IngestResult(
            InboundOutcome.UNMATCHED, _record(raw, InboundOutcome.UNMATCHED, **base)
        )
    with use_organization(match.organization):
        return _ingest_matched(raw, msg, match, base)


def _ingest_matched(raw: bytes, msg: EmailMessage, match: Match, base: dict) -> IngestResult:
    from customers.models import Customer

    org = match.organization
    customer = Customer.unscoped.get(pk=match.customer_id, organization=org)
    record = {"organization": org, "conversation": match.conversation, **base}
    if base["from_address"].lower() != (customer.email or "").lower():
        return IngestResult(
            InboundOutcome.SENDER_MISMATCH,
            _record(
                raw, InboundOutcome.SENDER_MISMATCH, detail=f"expected {customer.email}", **record
            ),
        )
    message_id = base["message_id"]
    if message_id and Entry.unscoped.filter(organization=org, email_message_id=message_id).exists():
        return IngestResult(
            InboundOutcome.DUPLICATE, _record(raw, InboundOutcome.DUPLICATE, **record)
        )

    text = reply_text(_body_text(msg))
    files, refused = [], []
    for part in msg.iter_attachments():
        name = part.get_filename() or "file"
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            content = b""
        try:
            files.append(attachment_check(filename=name, content=content))
        except SupportError as exc:
            refused.append(exc.message)
    text = text or "—"  # an email with only attachments (or nothing) is still kept
    try:
        with transaction.atomic():
            if match.conversation is not None:
                entry = customer_message_add(
                    conversation=match.conversation,
                    body=text,
                    channel=Channel.EMAIL,
                    files=files,
                    email_message_id=message_id,
                )
                conversation = match.conversation
                outcome = InboundOutcome.ADDED
            else:
                conversation = conversation_open(
                    customer=customer,
                    subject=base["subject"] or text.splitlines()[0][:80],
                    topic=_topic_of(match.source_message),
                    body=text,
                    channel=Channel.EMAIL,
                    files=files,
                    email_message_id=message_id,
                    source_message=match.source_message,
                    invoice_id=(match.source_message.params or {}).get("invoice_id")
                    if match.source_message is not None
                    else None,
                )
                entry = conversation.entries.get()
                outcome = InboundOutcome.CREATED
            if refused:
                note_add(conversation=conversation, body="\n".join(refused), actor=None)
            inbound = _record(
                raw, outcome, **{**record, "conversation": conversation}, detail=match.how
            )
    except IntegrityError:  # the same email arrived twice at the same moment
        return IngestResult(
            InboundOutcome.DUPLICATE, _record(raw, InboundOutcome.DUPLICATE, **record)
        )
    except SupportError as exc:
        return IngestResult(
            InboundOutcome.INVALID,
            _record(raw, InboundOutcome.INVALID, detail=exc.message, **record),
        )
    return IngestResult(outcome, inbound, conversation=conversation, entry=entry)


def _topic_of(message: Message | None) -> str:
    if message is None:
        return Topic.OTHER
    key = message.template_key
    if key.startswith("invoice"):
        return Topic.BILLING
    if key.startswith("payment") or key == "card_expiring":
        return Topic.PAYMENT
    if key.startswith("subscription") or key in ("trial_ending", "upcoming_charge"):
        return Topic.PLAN
    return Topic.OTHER
