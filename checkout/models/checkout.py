"""Public subscribe pages: the pricing page settings, which prices it shows, checkout links and
checkout sessions (one per submitted checkout form, the record of where a subscription came
from).

Exactly-once is a database fact: ``CheckoutSession.token`` is unique (the idempotency token
carried by the form), and ``CheckoutSession.subscription`` is one-to-one, so a double submit,
a refresh or two racing requests end in one session, one customer match, one subscription.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


def new_link_code() -> str:
    # 10 url-safe characters: short enough to type from a printed QR caption, ~60 bits.
    return secrets.token_urlsafe(8)[:10]


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class PricingPage(TenantModel):
    """Settings of the organization's public pricing page and checkout (one per organization)."""

    enabled = models.BooleanField(_("pricing page published"), default=False)
    headline = models.CharField(_("headline"), max_length=120, blank=True)
    intro = models.TextField(_("introduction"), blank=True, max_length=1000)
    terms_url = models.URLField(_("terms and conditions address"), blank=True)
    terms_text = models.TextField(_("terms and conditions"), blank=True, max_length=5000)
    require_tax_id = models.BooleanField(_("ask for a tax id"), default=True)
    allow_bank_transfer = models.BooleanField(_("accept bank transfer"), default=False)
    allow_cash = models.BooleanField(_("accept cash"), default=False)
    incomplete_expiry_hours = models.PositiveSmallIntegerField(
        _("hours to complete a failed first payment"), default=23
    )
    visits = models.PositiveIntegerField(default=0)
    started = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="pricingpage_one_per_org"),
            models.CheckConstraint(
                condition=Q(incomplete_expiry_hours__gte=1) & Q(incomplete_expiry_hours__lte=720),
                name="pricingpage_expiry_range",
            ),
        ]

    def __str__(self) -> str:
        return f"pricing page of {self.organization_id}"


class PublicPrice(TenantModel):
    """Whether a price shows on the pricing page, and where (lower ``position`` first)."""

    price = models.OneToOneField(
        "billing.Price", on_delete=models.CASCADE, related_name="public_listing"
    )
    public = models.BooleanField(_("on the pricing page"), default=False)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    highlighted = models.BooleanField(_("highlighted"), default=False)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"price {self.price_id} public={self.public}"


class CheckoutLink(TenantModel):
    """A shareable link to subscribe to one price, optionally with a coupon, a quantity, a
    trial override, an expiry and a usage limit. Counters: ``visits`` (page views),
    ``started`` (forms submitted) and ``completed`` (subscriptions created)."""

    code = models.CharField(max_length=20, unique=True, default=new_link_code)
    name = models.CharField(_("name"), max_length=100)
    price = models.ForeignKey("billing.Price", on_delete=models.PROTECT, related_name="+")
    coupon = models.ForeignKey(
        "billing.Coupon", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    trial_days = models.PositiveSmallIntegerField(_("trial days"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("usage limit"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    visits = models.PositiveIntegerField(default=0)
    started = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="checkoutlink_quantity"),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(completed__lte=models.F("max_uses")),
                name="checkoutlink_uses_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CheckoutSource(models.TextChoices):
    PRICING_PAGE = "pricing_page", _("pricing page")
    LINK = "link", _("checkout link")


class PaymentChoice(models.TextChoices):
    CARD = "card", _("card")
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    CASH = "cash", _("cash")


class SessionStatus(models.TextChoices):
    #: Subscription created, the first payment not settled yet (or declined: retry).
    AWAITING_PAYMENT = "awaiting_payment", _("awaiting payment")
    #: Active or trialing subscription, or an open invoice to pay by transfer / cash.
    COMPLETED = "completed", _("completed")
    #: The first payment never succeeded in time: the subscription was canceled.
    EXPIRED = "expired", _("expired")


class CheckoutSession(TenantModel):
    """One submitted checkout: who subscribed, from where, to what, and how it is going."""

    token = models.CharField(max_length=64, unique=True, default=new_session_token)
    source = models.CharField(_("source"), max_length=20, choices=CheckoutSource.choices)
    link = models.ForeignKey(
        CheckoutLink, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    price = models.ForeignKey("billing.Price", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    customer_matched = models.BooleanField(default=False)
    subscription = models.OneToOneField(
        "billing.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkout_session",
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment_choice = models.CharField(max_length=20, choices=PaymentChoice.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SessionStatus.choices,
        default=SessionStatus.AWAITING_PAYMENT,
        db_index=True,
    )
    coupon_code = models.CharField(max_length=40, blank=True)
    referral_code = models.CharField(max_length=40, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="checkoutsession_expiry",
                condition=Q(status="awaiting_payment"),
            )
        ]

    def __str__(self) -> str:
        return f"checkout {self.pk} ({self.status})"
