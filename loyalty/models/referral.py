"""Referrals: each customer's shareable code and the referrals it produced.

A ``Referral`` links a referred (new) customer to the customer whose code they used. It is
``pending`` until the referred customer's first successful payment, then ``rewarded`` (both
sides received the programme's referral reward, exactly once: the points entries are keyed
``referral:<id>:referrer`` / ``referral:<id>:referred``) or ``rejected`` (an abuse control
matched at payment time, e.g. the same card fingerprint). A customer can be referred once.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class ReferralCode(TenantModel):
    """A customer's referral code. Codes are unique across organizations, so a code typed
    in the wrong organization is recognised as "of another organization", not "unknown"."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="referral_code"
    )
    code = models.CharField(_("referral code"), max_length=16, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.code


class Referral(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the first payment")
        REWARDED = "rewarded", _("rewarded")
        REJECTED = "rejected", _("rejected")

    class Source(models.TextChoices):
        STAFF = "staff", _("staff")
        PORTAL = "portal", _("portal")
        CHECKOUT = "checkout", _("checkout")
        API = "api", _("API")

    referrer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="referrals_made"
    )
    referred = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="referral_received"
    )
    code = models.CharField(_("referral code"), max_length=16)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    rejection_reason = models.CharField(_("rejection reason"), max_length=40, blank=True)
    referrer_points = models.PositiveIntegerField(_("points to the referrer"), default=0)
    referred_points = models.PositiveIntegerField(_("points to the referred customer"), default=0)
    qualifying_invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(referrer=models.F("referred")),
                name="loyalty_referral_not_self",
            )
        ]
        indexes = [models.Index(fields=["referrer", "status"], name="loyalty_referral_rs_idx")]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referred_id}"
