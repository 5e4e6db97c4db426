"""Messaging: the message log, preferences and consent, template overrides, announcements."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class Topic(models.TextChoices):
    BILLING = "billing", _("Billing")
    REMINDERS = "reminders", _("Reminders")
    NEWS_PROMOTIONS = "news_promotions", _("News and promotions")
    SURVEYS = "surveys", _("Surveys")


# Billing-critical messages (invoices, receipts, failed payments, subscription changes) always
# go. Other topics need the customer's consent; marketing is opt-in, the rest opt-out.
CRITICAL_TOPICS = frozenset({Topic.BILLING})
DEFAULT_OPT_IN: dict[str, bool] = {
    Topic.REMINDERS: True,
    Topic.SURVEYS: True,
    Topic.NEWS_PROMOTIONS: False,
}


class Language(models.TextChoices):
    ES = "es-419", _("Spanish")
    EN = "en", _("English")


class MessagingSettings(TenantModel):
    """Per-organization sender identity and reminder timing."""

    sender_name = models.CharField(
        _("sender name"), max_length=100, blank=True, help_text=_("Defaults to your name.")
    )
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    upcoming_charge_days = models.PositiveSmallIntegerField(
        _("remind of an upcoming charge (days before)"), default=3
    )
    trial_ending_days = models.PositiveSmallIntegerField(
        _("remind of a trial ending (days before)"), default=3
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="messagingsettings_one_per_org")
        ]
        verbose_name = _("messaging settings")

    def __str__(self) -> str:
        return f"messaging settings of {self.organization_id}"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    BOUNCED = "bounced", _("bounced")
    SKIPPED = "skipped", _("not sent (no consent)")


class Message(TenantModel):
    """One message to one customer on one channel: what, when, and what happened.

    ``params`` are ids (``{"invoice_id": 7}``) from which the message kind builds its content at
    send time. ``dedupe_key`` makes queueing idempotent (an outbox handler that runs twice
    queues one message).
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=20, default="email")
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    template_key = models.CharField(_("template"), max_length=50)
    language = models.CharField(_("language"), max_length=10)
    to_address = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    params = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    provider_id = models.CharField(_("provider id"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="message_unique_dedupe_key"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="message_customer_created"),
            models.Index(fields=["provider_id"], name="message_provider_id"),
        ]
        verbose_name = _("message")

    def __str__(self) -> str:
        return f"{self.template_key} -> {self.to_address} ({self.status})"

    @property
    def is_critical(self) -> bool:
        return self.topic in CRITICAL_TOPICS


class CommunicationPreference(TenantModel):
    """Whether a customer wants messages of a topic. No row means the topic's default."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="communication_preferences"
    )
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    opted_in = models.BooleanField(_("opted in"))
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "topic"], name="commpref_unique_topic")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.topic}={'in' if self.opted_in else 'out'}"


class ConsentSource(models.TextChoices):
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("unsubscribe link")
    PORTAL = "portal", _("customer portal")
    STAFF = "staff", _("staff")
    IMPORT = "import", _("import")
    API = "api", _("API")


class ConsentLog(TenantModel):
    """Append-only: every change of a preference, when and how it happened."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="consent_log"
    )
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    opted_in = models.BooleanField(_("opted in"))
    source = models.CharField(_("how"), max_length=20, choices=ConsentSource.choices)
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.topic} {self.opted_in} via {self.source}"


class SuppressedAddress(TenantModel):
    """An address that bounced (or complained): no more non-critical sends to it."""

    email = models.EmailField()
    reason = models.CharField(max_length=20, default="bounce")
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("email"), name="suppressed_unique_email_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class TemplateOverride(TenantModel):
    """An organization's own subject and body for one template in one language.

    Both are Django template text rendered by a sandboxed engine (no loaders, no extra tag
    libraries) against a context of plain strings; ``clean()`` rejects invalid syntax with
    the line of the error.
    """

    template_key = models.CharField(_("template"), max_length=50)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "template_key", "language"], name="templateoverride_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_key} [{self.language}]"

    def clean(self) -> None:
        from customers.messaging.rendering import TemplateSourceError, compile_user_template

        errors = {}
        for field in ("subject", "body"):
            try:
                compile_user_template(getattr(self, field))
            except TemplateSourceError as exc:
                errors[field] = str(exc)
        if errors:
            raise ValidationError(errors)


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SENT = "sent", _("sent")


class Announcement(TenantModel):
    """News or a promotion to a segment, sent only to customers who consented to the topic."""

    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("message"))
    topic = models.CharField(
        _("topic"), max_length=20, choices=Topic.choices, default=Topic.NEWS_PROMOTIONS
    )
    segment = models.CharField(_("recipients"), max_length=100, default="all")
    status = models.CharField(
        max_length=10, choices=AnnouncementStatus.choices, default=AnnouncementStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    queued_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(topic="billing"), name="announcement_not_billing_topic"
            )
        ]

    def __str__(self) -> str:
        return self.subject

    def clean(self) -> None:
        from customers.messaging.rendering import TemplateSourceError, compile_user_template

        errors = {}
        for field in ("subject", "body"):
            try:
                compile_user_template(getattr(self, field))
            except TemplateSourceError as exc:
                errors[field] = str(exc)
        if errors:
            raise ValidationError(errors)


class AnnouncementDelivery(TenantModel):
    """The send log of an announcement: one row per customer in the segment."""

    class Outcome(models.TextChoices):
        QUEUED = "queued", _("queued")
        NO_CONSENT = "no_consent", _("skipped: no consent")
        SUPPRESSED = "suppressed", _("skipped: address bounced")

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="deliveries"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "customer"], name="announcementdelivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} -> {self.customer_id}: {self.outcome}"
