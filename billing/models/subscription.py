"""Subscriptions and their explicit state machine.

Only services in ``billing.services.subscriptions`` change ``status``, under
``select_for_update()``, checking ``SUBSCRIPTION_TRANSITIONS`` and writing an outbox event.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.catalog import Coupon, Price
from cobro.models import TenantModel


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", _("incomplete")
    TRIALING = "trialing", _("trialing")
    ACTIVE = "active", _("active")
    PAST_DUE = "past_due", _("past due")
    PAUSED = "paused", _("paused")
    CANCELED = "canceled", _("canceled")
    UNPAID = "unpaid", _("unpaid")


S = SubscriptionStatus

# The only allowed status changes. ``canceled`` is final.
SUBSCRIPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.INCOMPLETE: frozenset({S.ACTIVE, S.TRIALING, S.CANCELED}),
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.UNPAID, S.PAUSED, S.CANCELED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELED}),
    S.UNPAID: frozenset({S.ACTIVE, S.CANCELED}),
    S.CANCELED: frozenset(),
}


class CollectionMethod(models.TextChoices):
    CHARGE_AUTOMATICALLY = "charge_automatically", _("charge automatically")
    SEND_INVOICE = "send_invoice", _("send invoice")


class Subscription(TenantModel):
    """A customer paying a price every period.

    Calendar: periods are computed by ``billing.calendar`` in the organization's time zone from
    ``anchor_date`` (local date of boundary 0) and ``billing_anchor_day`` (1-31, the remembered
    day of month: Jan 31 -> Feb 28/29 -> Mar 31). The current period is
    ``[current_period_start, current_period_end)`` and has index ``period_index`` (-1 for a
    short first "stub" period that runs from the start date to the first anchor boundary).
    ``next_billing_at`` is when the billing run must look at this subscription next (period
    end, trial end, or scheduled resume); null means never (canceled, paused indefinitely).
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="subscriptions"
    )
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=SubscriptionStatus.choices, db_index=True
    )
    currency = models.CharField(_("currency"), max_length=3)
    started_at = models.DateTimeField(_("started"))
    billing_anchor_day = models.PositiveSmallIntegerField(_("billing day"))
    anchor_date = models.DateField()
    period_index = models.IntegerField(default=0)
    current_period_start = models.DateTimeField(_("current period start"))
    current_period_end = models.DateTimeField(_("current period end"))
    trial_end = models.DateTimeField(_("trial ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancel at period end"), default=False)
    canceled_at = models.DateTimeField(_("canceled"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    resume_at = models.DateTimeField(_("resumes"), null=True, blank=True)
    collection_method = models.CharField(
        _("collection"),
        max_length=20,
        choices=CollectionMethod.choices,
        default=CollectionMethod.CHARGE_AUTOMATICALLY,
    )
    days_until_due = models.PositiveSmallIntegerField(_("payment terms (days)"), default=0)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="subscriptions"
    )
    coupon_periods_used = models.PositiveSmallIntegerField(default=0)
    #: The card this subscription is charged with instead of the customer's default (a card
    #: given in an anonymous checkout by someone who typed an existing customer's email must
    #: not become that customer's default). Null, or a removed method: the default is used.
    #: Cleared when the customer chooses a new default (``payment_method_set_default``).
    payment_method = models.ForeignKey(
        "payments.PaymentMethod",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A change scheduled for the next period (``subscription_change(..., when="next_period")``).
    pending_price = models.ForeignKey(
        Price, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pending_quantity = models.PositiveIntegerField(null=True, blank=True)
    setup_fee_invoiced = models.BooleanField(default=False)
    next_billing_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_billing_at"],
                name="subscription_due_idx",
                condition=Q(next_billing_at__isnull=False),
            ),
            models.Index(
                fields=["organization", "created_at", "id"], name="subscription_org_created"
            ),
            models.Index(
                fields=["organization", "status", "created_at", "id"],
                name="subscription_org_status_crt",
                include=["currency"],  # the home counts trials from the index alone
            ),
            models.Index(fields=["customer"], name="subscription_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(billing_anchor_day__gte=1) & Q(billing_anchor_day__lte=31),
                name="subscription_anchor_day_range",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="subscription_quantity"),
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")),
                name="subscription_period_order",
            ),
        ]

    def __str__(self) -> str:
        return f"subscription {self.pk} ({self.status})"
