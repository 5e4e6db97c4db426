"""Portal sign-in codes, per-organization portal settings and cancellation feedback."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class LoginCode(TenantModel):
    """A one-time sign-in code (6 digits) and magic link sent to one customer by email.

    Only keyed hashes are stored. Single use (``used_at``), short-lived (``expires_at``), and
    locked after ``MAX_ATTEMPTS`` wrong codes. Requesting a new code retires the older ones.
    """

    MAX_ATTEMPTS = 5

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_login_codes"
    )
    code_hash = models.CharField(max_length=64)
    link_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    sent_by_staff = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "customer", "-created_at"], name="portal_code_customer"
            )
        ]

    def __str__(self) -> str:
        return f"login code {self.pk} of customer {self.customer_id}"

    @property
    def locked(self) -> bool:
        return self.attempts >= self.MAX_ATTEMPTS


class CancelMode(models.TextChoices):
    BOTH = "both", _("Now or at the end of the period (customer chooses)")
    PERIOD_END = "period_end", _("Only at the end of the paid period")
    NOW = "now", _("Only immediately")


class PortalSettings(TenantModel):
    """What an organization lets its customers do alone in the portal (one row at most)."""

    max_pause_days = models.PositiveSmallIntegerField(
        _("longest pause (days)"), default=90, help_text=_("0 turns pausing off.")
    )
    pauses_per_year = models.PositiveSmallIntegerField(_("pauses per year"), default=2)
    cancel_mode = models.CharField(
        _("cancellation"), max_length=12, choices=CancelMode.choices, default=CancelMode.BOTH
    )
    allow_plan_change = models.BooleanField(_("customers may change plan"), default=True)
    retention_offer_text = models.TextField(
        _("retention offer"),
        blank=True,
        help_text=_("Shown before a customer cancels. It never blocks the cancellation."),
    )
    retention_coupon_code = models.CharField(_("retention coupon code"), max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="portalsettings_one_per_org")
        ]
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")

    def __str__(self) -> str:
        return f"portal settings of {self.organization_id}"


class CancellationReason(models.TextChoices):
    TOO_EXPENSIVE = "too_expensive", _("It is too expensive")
    NOT_USING = "not_using", _("I don't use it enough")
    MISSING_FEATURES = "missing_features", _("It lacks something I need")
    SWITCHING = "switching", _("I'm switching to another provider")
    SERVICE = "service", _("I had problems with the service")
    TEMPORARY = "temporary", _("I only needed it for a while")
    OTHER = "other", _("Other")


class CancellationFeedback(TenantModel):
    """Why a customer cancelled (the cancellation survey). Append-only; the loyalty app's
    surveys read it. ``reason`` may be blank: answering is optional."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="cancellation_feedback"
    )
    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.CASCADE, related_name="cancellation_feedback"
    )
    reason = models.CharField(
        _("reason"), max_length=20, choices=CancellationReason.choices, blank=True
    )
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    at_period_end = models.BooleanField(_("at period end"))
    retention_offer_shown = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="portal_cancelfb_org_created")
        ]

    def __str__(self) -> str:
        return f"cancellation of subscription {self.subscription_id}: {self.reason or '-'}"
