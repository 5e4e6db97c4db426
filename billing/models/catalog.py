"""Catalog: per-organization billing settings, tax rates, products, prices and coupons.

Amounts are integers in the currency's minor unit (``*_minor``) next to an ISO 4217 code.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel

# Database-level ceiling on any stored amount (minor units); services apply the tighter,
# currency-aware cap in ``billing.currencies.MAX_AMOUNT_MAJOR``.
DB_MAX_AMOUNT_MINOR = 10**15


class BillingSettings(TenantModel):
    """Billing options of one organization (at most one row per organization).

    Currencies the organization bills in: its ``default_currency`` plus ``extra_currencies``
    (a list of ISO 4217 codes). Nothing else is accepted for prices, coupons or invoices.
    """

    extra_currencies = models.JSONField(_("extra currencies"), default=list, blank=True)
    invoice_prefix = models.CharField(_("invoice prefix"), max_length=10, default="F-")
    credit_note_prefix = models.CharField(_("credit note prefix"), max_length=10, default="NC-")
    days_until_due = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="billingsettings_one_per_org")
        ]

    def __str__(self) -> str:
        return f"billing settings of {self.organization_id}"


class TaxRate(TenantModel):
    """A tax such as IVA 19% (Chile). ``percentage`` is exact (Decimal, 4 places).

    ``inclusive`` is the default for manual invoice lines; a price's ``tax_behavior`` decides
    for lines coming from that price.
    """

    name = models.CharField(_("name"), max_length=50)
    percentage = models.DecimalField(_("percentage"), max_digits=7, decimal_places=4)
    inclusive = models.BooleanField(_("included in prices"), default=False)
    country = models.CharField(_("country"), max_length=2, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__gte=0) & Q(percentage__lte=100),
                name="taxrate_percentage_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.percentage.normalize()}%"


class Product(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Interval(models.TextChoices):
    DAY = "day", _("day")
    WEEK = "week", _("week")
    MONTH = "month", _("month")
    YEAR = "year", _("year")


class TaxBehavior(models.TextChoices):
    INCLUSIVE = "inclusive", _("tax included in the price")
    EXCLUSIVE = "exclusive", _("tax added to the price")
    NONE = "none", _("no tax")


class Price(TenantModel):
    """A recurring price of a product: ``amount_minor`` per ``interval_count`` ``interval``s.

    Once a subscription or an invoice line uses a price it is never edited: ``price_update``
    creates a new version (``replaces`` points to the old one, ``version`` grows) and archives
    the old one. Existing subscriptions keep the old price until migrated on purpose.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    nickname = models.CharField(_("name"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount"))
    interval = models.CharField(
        _("interval"), max_length=5, choices=Interval.choices, default=Interval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(_("every"), default=1)
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=0)
    setup_fee_minor = models.BigIntegerField(_("setup fee"), default=0)
    tax_behavior = models.CharField(
        _("tax behaviour"), max_length=9, choices=TaxBehavior.choices, default=TaxBehavior.NONE
    )
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="prices"
    )
    active = models.BooleanField(_("active"), default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "amount_minor", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0) & Q(amount_minor__lte=DB_MAX_AMOUNT_MINOR),
                name="price_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(setup_fee_minor__gte=0) & Q(setup_fee_minor__lte=DB_MAX_AMOUNT_MINOR),
                name="price_setup_fee_range",
            ),
            models.CheckConstraint(
                condition=Q(interval_count__gte=1) & Q(interval_count__lte=366),
                name="price_interval_count_range",
            ),
        ]

    def __str__(self) -> str:
        label = self.nickname or self.product.name
        return f"{label} v{self.version}"


class Coupon(TenantModel):
    """A discount: ``percent_off`` (exact Decimal) or ``amount_off_minor`` in ``currency``.

    Duration: ``once`` (first invoice), ``repeating`` (``duration_periods`` invoices) or
    ``forever``. ``times_redeemed`` never exceeds ``max_redemptions`` (a check constraint, so
    concurrent redemptions cannot overshoot: the row update serializes and the last one fails).
    """

    class Duration(models.TextChoices):
        ONCE = "once", _("once")
        REPEATING = "repeating", _("for a number of periods")
        FOREVER = "forever", _("forever")

    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    percent_off = models.DecimalField(
        _("percent off"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    amount_off_minor = models.BigIntegerField(_("amount off"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    duration = models.CharField(
        _("duration"), max_length=9, choices=Duration.choices, default=Duration.ONCE
    )
    duration_periods = models.PositiveSmallIntegerField(_("periods"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(_("max redemptions"), null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    redeem_by = models.DateTimeField(_("redeem by"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="coupon_unique_code"),
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off_minor__isnull=True)
                    | Q(percent_off__isnull=True, amount_off_minor__isnull=False)
                ),
                name="coupon_percent_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True)
                | (Q(percent_off__gt=0) & Q(percent_off__lte=100)),
                name="coupon_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(amount_off_minor__isnull=True)
                | (Q(amount_off_minor__gt=0) & Q(amount_off_minor__lte=DB_MAX_AMOUNT_MINOR)),
                name="coupon_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=models.F("max_redemptions")),
                name="coupon_redemptions_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code
