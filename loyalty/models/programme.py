"""Loyalty: the programme of an organization, its tiers, each customer's points account and
its append-only ledger, the rewards catalogue and redemptions.

Points are plain integers (no currency). A customer's balance is the sum of their
``PointsEntry`` rows; ``LoyaltyAccount.balance`` keeps the same sum as a running total so the
database itself refuses a negative balance (check constraint) while the services lock the
account row (``select_for_update``) to serialize writers.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class OnTimeRule(models.TextChoices):
    DUE_DATE = "due_date", _("paid by the due date")
    FIRST_ATTEMPT = "first_attempt", _("paid at the first charge attempt")
    GRACE = "grace", _("paid within the grace period after the due date")


class LoyaltyProgramme(TenantModel):
    """The earning rules of one organization (one row per organization, off by default).

    A payment is *on time* when ``paid_at <= due_at + grace_days`` (automatic charges are due
    when issued, so a grace period covers retries). Points per amount are earned on the amount
    actually paid (minor units), per ``amount_unit_major`` whole major units of the currency.
    """

    enabled = models.BooleanField(_("enabled"), default=False)
    name = models.CharField(_("name"), max_length=100, default="Programa de puntos")
    points_per_on_time_payment = models.PositiveIntegerField(
        _("points per on-time payment"), default=100
    )
    points_per_amount = models.PositiveIntegerField(
        _("points per amount paid"),
        default=0,
        help_text=_("Points earned for every N whole units of currency paid (0 turns it off)."),
    )
    amount_unit_major = models.PositiveIntegerField(
        _("amount unit (N)"),
        default=1000,
        validators=[MinValueValidator(1)],
        help_text=_("Whole units of currency per block of points (e.g. 1000 CLP)."),
    )
    streak_length = models.PositiveIntegerField(
        _("streak length"),
        default=0,
        help_text=_("Bonus after this many consecutive on-time payments (0 turns it off)."),
    )
    streak_bonus_points = models.PositiveIntegerField(_("streak bonus points"), default=0)
    welcome_points = models.PositiveIntegerField(_("welcome points"), default=0)
    grace_days = models.PositiveIntegerField(
        _("grace period (days)"),
        default=0,
        validators=[MaxValueValidator(90)],
        help_text=_("A payment up to this many days after the due date still counts as on time."),
    )
    expiry_months = models.PositiveIntegerField(
        _("points expire after (months)"),
        default=0,
        validators=[MaxValueValidator(120)],
        help_text=_("0 means points never expire."),
    )
    on_time_rule = models.CharField(
        _("a payment is on time when"),
        max_length=16,
        choices=OnTimeRule.choices,
        default=OnTimeRule.GRACE,
    )
    anniversary_points = models.PositiveIntegerField(
        _("anniversary points"),
        default=0,
        help_text=_("Points on each yearly anniversary of the customer's first subscription."),
    )
    referrals_enabled = models.BooleanField(_("referrals enabled"), default=False)
    referrer_points = models.PositiveIntegerField(_("points to the referrer"), default=0)
    referred_points = models.PositiveIntegerField(_("points to the referred customer"), default=0)
    referral_cap = models.PositiveIntegerField(
        _("referrals per customer (cap)"),
        default=0,
        help_text=_("Most referrals one customer can make (0 means no cap)."),
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="loyalty_programme_one_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class LoyaltyTier(TenantModel):
    """A level reached at ``threshold_points`` lifetime points (earned minus reversed)."""

    name = models.CharField(_("name"), max_length=60)
    threshold_points = models.PositiveIntegerField(_("threshold (lifetime points)"))
    benefit = models.CharField(_("benefit"), max_length=300, blank=True)
    renewal_discount_percent = models.DecimalField(
        _("discount on renewals (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    early_access = models.BooleanField(
        _("early access to new products"),
        default=False,
        help_text=_("Customers of this tier are flagged for early access in the dashboard."),
    )
    gift_reward = models.ForeignKey(
        "loyalty.Reward",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gift on reaching this tier"),
        limit_choices_to={"kind": "gift"},
    )

    class Meta:
        ordering = ["threshold_points"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "threshold_points"], name="loyalty_tier_unique_threshold"
            ),
            models.UniqueConstraint(
                fields=["organization", "name"], name="loyalty_tier_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(TenantModel):
    """A customer's points account. ``balance`` always equals the sum of the account's entries
    and is never negative; ``lifetime_points`` (earned minus reversed) decides the tier;
    ``streak`` counts consecutive on-time payments."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="loyalty_account"
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    lifetime_points = models.BigIntegerField(_("lifetime points"), default=0)
    streak = models.PositiveIntegerField(_("on-time streak"), default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="loyalty_account_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.balance}"


class PointsEntry(TenantModel):
    """One append-only movement of points (positive earns, negative spends).

    ``source_key`` names what caused it (``invoice:<id>:earn``, ``credit_note:<id>:reverse``,
    ``customer:<id>:welcome``); unique per organization, it is the database fact that makes an
    award happen once whatever the number of deliveries."""

    class Kind(models.TextChoices):
        EARN = "earn", _("earned")
        REDEEM = "redeem", _("redeemed")
        EXPIRE = "expire", _("expired")
        REVERSE = "reverse", _("reversed")
        ADJUST = "adjust", _("adjustment")

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="entries")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.BigIntegerField(_("points"))
    description = models.CharField(_("description"), max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    source_key = models.CharField(max_length=100, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credit_note = models.ForeignKey(
        "billing.CreditNote", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    redemption = models.ForeignKey(
        "loyalty.Redemption", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source_key"],
                condition=~models.Q(source_key=""),
                name="loyalty_entry_unique_source",
            ),
            models.UniqueConstraint(
                fields=["invoice", "kind"],
                condition=models.Q(kind="earn"),
                name="loyalty_entry_one_earn_per_invoice",
            ),
        ]
        indexes = [models.Index(fields=["account", "created_at"], name="loyalty_entry_acct_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.points}"


class Reward(TenantModel):
    """An item of the rewards catalogue. ``stock`` is what is left (None: unlimited);
    ``per_customer_limit`` caps redemptions per customer (None: no cap)."""

    class Kind(models.TextChoices):
        INVOICE_CREDIT = "invoice_credit", _("credit on the next invoice")
        RENEWAL_DISCOUNT = "renewal_discount", _("percentage off the next renewal")
        FREE_PERIOD = "free_period", _("free period (next renewal at 100% off)")
        GIFT = "gift", _("gift fulfilled by staff")

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    points_cost = models.PositiveIntegerField(_("points"), validators=[MinValueValidator(1)])
    credit_amount_minor = models.BigIntegerField(_("credit amount (minor units)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    percent_off = models.DecimalField(
        _("percentage off"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    stock = models.PositiveIntegerField(_("stock left"), null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(_("limit per customer"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["points_cost", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="invoice_credit")
                | models.Q(credit_amount_minor__gt=0, currency__regex=r"^[A-Z]{3}$"),
                name="loyalty_reward_credit_has_amount",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="renewal_discount")
                | models.Q(percent_off__gt=0, percent_off__lte=100),
                name="loyalty_reward_discount_has_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(TenantModel):
    """A customer exchanged points for a reward. Credit rewards are fulfilled at once; gifts
    wait in the staff fulfilment queue (pending -> fulfilled, or canceled with points back);
    renewal rewards (discount, free period) stay pending until the next renewal invoice shows
    them (``applied_invoice``). Tier gifts are redemptions of 0 points (channel ``tier``),
    keyed by ``source_key`` so reaching a tier gifts once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELED = "canceled", _("canceled")

    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    channel = models.CharField(max_length=10, default="portal")  # portal | staff
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField()
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.CharField(max_length=200, blank=True)
    source_key = models.CharField(max_length=100, blank=True)
    applied_invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source_key"],
                condition=~models.Q(source_key=""),
                name="loyalty_redemption_unique_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reward_id} x {self.customer_id}"
