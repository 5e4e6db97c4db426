"""Customer support: conversations, their entries (messages, replies, internal notes, events),
attachments, canned replies, and the inbound email log.

A conversation belongs to one customer of one organization. Its status moves only through
``support.services`` (``TRANSITIONS``); ``first_response_at`` and ``resolved_at`` are the
service-level facts the inbox reports (medians of first response and resolution times).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class Topic(models.TextChoices):
    BILLING = "billing", _("Billing")
    PAYMENT = "payment", _("Payment")
    PLAN = "plan", _("Plan")
    OTHER = "other", _("Other")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")


TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.WAITING, Status.RESOLVED}),
    Status.WAITING: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN}),
}


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("Email")
    STAFF = "staff", _("Staff")


class Conversation(TenantModel):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="support_conversations"
    )
    subject = models.CharField(_("subject"), max_length=200)
    topic = models.CharField(_("topic"), max_length=10, choices=Topic.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invoice"),
    )
    subscription = models.ForeignKey(
        "billing.Subscription",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("subscription"),
    )
    # The Cobro email the customer answered, when the conversation started by email.
    source_message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    last_customer_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    csat_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "status", "updated_at"], name="support_conv_status"
            ),
            models.Index(fields=["customer", "created_at"], name="support_conv_customer"),
        ]
        verbose_name = _("conversation")

    def __str__(self) -> str:
        return self.subject

    @property
    def first_response_seconds(self) -> int | None:
        if self.first_response_at is None:
            return None
        return int((self.first_response_at - self.created_at).total_seconds())

    @property
    def resolution_seconds(self) -> int | None:
        if self.resolved_at is None:
            return None
        return int((self.resolved_at - self.created_at).total_seconds())


class EntryKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer message")
    REPLY = "reply", _("Reply")
    NOTE = "note", _("Internal note")
    EVENT = "event", _("Event")


class Entry(TenantModel):
    """One item of a conversation's thread. Notes are never shown to the customer; events
    record quick actions (a credit, a pause) in words the customer may read."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    body = models.TextField(_("message"))
    channel = models.CharField(max_length=10, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    # The email that carried a staff reply (its Message-ID maps the customer's answer back).
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Events (quick actions): a stable code and its parameters, put in words when shown.
    event = models.CharField(max_length=30, blank=True)
    params = models.JSONField(default=dict, blank=True)
    # Message-ID of an inbound email: ingesting the same email twice adds it once.
    email_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email_message_id"],
                condition=~models.Q(email_message_id=""),
                name="support_entry_unique_email",
            )
        ]
        verbose_name = _("conversation entry")

    def __str__(self) -> str:
        return f"{self.kind} in {self.conversation_id}"

    @property
    def visible_to_customer(self) -> bool:
        return self.kind != EntryKind.NOTE


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Files under ``COBRO_SUPPORT_FILES_ROOT`` (read when used, so tests can move it), with no
    public URL: only the support views serve them."""

    @property
    def base_location(self) -> str:
        return str(settings.COBRO_SUPPORT_FILES_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]
        return None


private_storage = PrivateStorage()


def _attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is random: the customer's file name is kept only as data.
    import secrets

    return f"{instance.organization_id}/{secrets.token_hex(16)}"


class Attachment(TenantModel):
    """A file a customer sent (portal or email), stored outside MEDIA_ROOT and served only by
    the support views to the organization's staff and to that customer."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(storage=private_storage, upload_to=_attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=150)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("attachment")

    def __str__(self) -> str:
        return self.filename


class CannedReply(TenantModel):
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "title"], name="support_canned_title")
        ]
        verbose_name = _("canned reply")

    def __str__(self) -> str:
        return self.title


class InboundOutcome(models.TextChoices):
    ADDED = "added", _("added to a conversation")
    CREATED = "created", _("started a conversation")
    DUPLICATE = "duplicate", _("already received")
    AUTO_REPLY = "auto_reply", _("automatic reply ignored")
    UNMATCHED = "unmatched", _("no conversation matched")
    SENDER_MISMATCH = "sender_mismatch", _("sender is not the customer")
    INVALID = "invalid", _("unreadable message")


class InboundEmail(models.Model):
    """Every inbound email, kept whatever happened to it (nothing is lost): the raw message
    and the outcome. ``organization`` is null while no token or header matched one, which is
    why this is not a tenant table; staff pages read it only filtered by their organization."""

    organization = models.ForeignKey(
        "cobro.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message_id = models.CharField(max_length=255, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=20, choices=InboundOutcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    raw = models.BinaryField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["organization", "received_at"], name="support_inbound_org")]

    def __str__(self) -> str:
        return f"{self.from_address} {self.outcome}"
