"""Feedback: survey settings, survey requests and their (at most one) response, staff tags,
and post-sale follow-ups.

Idempotency is a database fact everywhere here:
- a survey request caused by something (a payment, a cancellation, a support conversation)
  carries ``subject_ref`` (``invoice:12``, ``subscription:3``...), unique per organization,
  kind and source, so a redelivered event creates one request;
- a response is one-to-one with its request, so answering twice updates, never duplicates;
- a follow-up is unique on ``key`` (``first_payment:<customer>``,
  ``anniversary:<subscription>:<year>``, ``satisfaction:<subscription>``).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0-10)")
    CSAT = "csat", _("CSAT (1-5)")


# Inclusive score ranges per kind.
SCORE_RANGE: dict[str, tuple[int, int]] = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5)}


class SurveySource(models.TextChoices):
    PAYMENT = "payment", _("after a payment")
    PERIODIC = "periodic", _("periodic")
    CANCELLATION = "cancellation", _("cancellation")
    SUPPORT = "support", _("support conversation")
    SATISFACTION = "satisfaction", _("satisfaction check")
    MANUAL = "manual", _("sent by staff")


class FeedbackSettings(TenantModel):
    """When an organization asks for feedback and which follow-ups it sends (one row per
    organization; no row means these defaults)."""

    surveys_enabled = models.BooleanField(_("send surveys"), default=True)
    payment_survey_every_n = models.PositiveIntegerField(
        _("NPS survey after every Nth payment"),
        default=3,
        help_text=_("0 turns surveys after payments off."),
    )
    payment_survey_min_days = models.PositiveIntegerField(
        _("at most one payment survey every (days)"), default=90
    )
    periodic_nps_days = models.PositiveIntegerField(
        _("periodic NPS survey every (days)"),
        default=180,
        help_text=_("0 turns periodic surveys off."),
    )
    cancellation_survey = models.BooleanField(_("survey after a cancellation"), default=True)
    thank_you_first_payment = models.BooleanField(
        _("thank-you after the first payment"), default=True
    )
    anniversary_message = models.BooleanField(
        _("message on subscription anniversaries"), default=True
    )
    satisfaction_check_days = models.PositiveIntegerField(
        _("satisfaction check after the start (days)"),
        default=14,
        validators=[MaxValueValidator(365)],
        help_text=_("0 turns the satisfaction check off."),
    )
    request_expiry_days = models.PositiveIntegerField(
        _("survey links expire after (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="feedback_settings_one_per_org")
        ]
        verbose_name = _("feedback settings")

    def __str__(self) -> str:
        return f"feedback settings of {self.organization_id}"


class SurveyRequest(TenantModel):
    """One question asked of one customer. ``nonce`` is a random value signed into the
    one-click links: a link works for this request only."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ANSWERED = "answered", _("answered")
        EXPIRED = "expired", _("expired")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_requests"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    source = models.CharField(_("source"), max_length=20, choices=SurveySource.choices)
    subject_ref = models.CharField(_("about"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(_("asked"))
    expires_at = models.DateTimeField(_("expires"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "source", "subject_ref"],
                condition=~models.Q(subject_ref=""),
                name="feedback_request_unique_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="feedback_req_customer_status"),
            models.Index(fields=["organization", "created_at"], name="feedback_req_org_created"),
        ]
        verbose_name = _("survey request")

    def __str__(self) -> str:
        return f"{self.kind} for {self.customer_id} ({self.status})"

    @property
    def score_range(self) -> tuple[int, int]:
        return SCORE_RANGE[self.kind]


class FeedbackTag(TenantModel):
    """A staff label for comments ("price", "support", "product"...)."""

    name = models.CharField(_("name"), max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="feedback_tag_unique")
        ]

    def __str__(self) -> str:
        return self.name


class SurveyResponse(TenantModel):
    """The answer to one request (one-to-one: a second answer updates this row).

    ``kind`` and ``customer`` repeat the request's so the staff page and the API filter without
    a join. ``follow_up_status`` closes the loop: staff mark that they acted on a comment."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("email link")
        PORTAL = "portal", _("portal")

    class LoopStatus(models.TextChoices):
        OPEN = "open", _("open")
        ACTED = "acted", _("we acted on this")
        NO_ACTION = "no_action", _("no action needed")

    request = models.OneToOneField(SurveyRequest, on_delete=models.CASCADE, related_name="response")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_responses"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    source = models.CharField(_("source"), max_length=20, choices=SurveySource.choices)
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    channel = models.CharField(_("answered via"), max_length=10, choices=Channel.choices)
    tags = models.ManyToManyField(FeedbackTag, blank=True, related_name="responses")
    loop_status = models.CharField(
        _("follow-up"), max_length=10, choices=LoopStatus.choices, default=LoopStatus.OPEN
    )
    loop_note = models.CharField(_("what we did"), max_length=500, blank=True)
    loop_by_label = models.CharField(max_length=200, blank=True)
    loop_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("answered"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="nps", score__gte=0, score__lte=10)
                    | models.Q(kind="csat", score__gte=1, score__lte=5)
                ),
                name="feedback_response_score_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "kind", "created_at"], name="feedback_resp_kind"),
        ]
        verbose_name = _("survey response")

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"

    @property
    def nps_category(self) -> str:
        """promoter (9-10), passive (7-8), detractor (0-6); empty for CSAT."""
        if self.kind != SurveyKind.NPS:
            return ""
        if self.score >= 9:
            return "promoter"
        return "passive" if self.score >= 7 else "detractor"


class FollowUp(TenantModel):
    """A post-sale message sent (or skipped for lack of consent) exactly once per ``key``."""

    class Kind(models.TextChoices):
        THANK_YOU = "thank_you", _("thank-you after the first payment")
        ANNIVERSARY = "anniversary", _("subscription anniversary")
        SATISFACTION = "satisfaction", _("satisfaction check")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="follow_ups"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=100)
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="feedback_followup_key")
        ]
        verbose_name = _("follow-up")

    def __str__(self) -> str:
        return self.key


class PlanSnapshot(TenantModel):
    """What a subscription cost per month after a subscription event (created, updated,
    resumed; renewed only when the amount changed). A snapshot lower
    than the previous one of the same subscription and currency is a downgrade, a retention
    signal. Monthly amounts are in minor units, normalised from the price's interval."""

    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    event_id = models.UUIDField()
    monthly_amount_minor = models.BigIntegerField()
    previous_amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event_id"], name="feedback_plansnapshot_event"
            )
        ]
        indexes = [
            models.Index(fields=["subscription", "created_at"], name="feedback_snap_sub_created"),
            models.Index(fields=["customer", "created_at"], name="feedback_snap_cust_created"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.monthly_amount_minor} {self.currency}"

    @property
    def is_downgrade(self) -> bool:
        return (
            self.previous_amount_minor is not None
            and self.monthly_amount_minor < self.previous_amount_minor
        )
