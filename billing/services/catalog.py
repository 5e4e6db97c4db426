"""Catalog services: billing settings, tax rates, products, prices (with versioning), coupons."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F, Q

from billing.currencies import validate_amount, validate_currency
from billing.error_codes import BillingError, BillingErrorCode
from billing.models import BillingSettings, Coupon, Interval, Price, Product, TaxBehavior, TaxRate
from cobro import clock
from cobro.models import Organization
from cobro.money import is_currency


def billing_settings_update(
    *,
    organization: Organization,
    extra_currencies: list[str] | None = None,
    invoice_prefix: str | None = None,
    credit_note_prefix: str | None = None,
    days_until_due: int | None = None,
) -> BillingSettings:
    settings, _ = BillingSettings.unscoped.get_or_create(organization=organization)
    if extra_currencies is not None:
        codes = sorted({c.upper() for c in extra_currencies})
        for code in codes:
            if not is_currency(code):
                raise BillingError(BillingErrorCode.CURRENCY_UNKNOWN, currency=code)
        settings.extra_currencies = codes
    if invoice_prefix is not None:
        settings.invoice_prefix = invoice_prefix
    if credit_note_prefix is not None:
        settings.credit_note_prefix = credit_note_prefix
    if days_until_due is not None:
        settings.days_until_due = days_until_due
    settings.save()
    return settings


def _percentage(value) -> Decimal:
    try:
        pct = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise BillingError(BillingErrorCode.INVALID_PERCENTAGE) from exc
    if isinstance(value, float) or not pct.is_finite() or pct < 0 or pct > 100:
        raise BillingError(BillingErrorCode.INVALID_PERCENTAGE)
    if pct != pct.quantize(Decimal("0.0001")):
        raise BillingError(BillingErrorCode.INVALID_PERCENTAGE)
    return pct


def tax_rate_create(
    *,
    organization: Organization,
    name: str,
    percentage: Decimal | str | int,
    inclusive: bool = False,
    country: str = "",
) -> TaxRate:
    return TaxRate.unscoped.create(
        organization=organization,
        name=name,
        percentage=_percentage(percentage),
        inclusive=inclusive,
        country=country.upper(),
    )


def product_create(*, organization: Organization, name: str, description: str = "") -> Product:
    return Product.unscoped.create(organization=organization, name=name, description=description)


def _validate_price_fields(
    organization: Organization,
    *,
    currency: str,
    amount_minor: int,
    interval: str,
    interval_count: int,
    trial_days: int,
    setup_fee_minor: int,
    tax_behavior: str,
    tax_rate: TaxRate | None,
) -> str:
    currency = validate_currency(organization, currency)
    validate_amount(amount_minor, currency)
    validate_amount(setup_fee_minor, currency, allow_zero=True)
    if interval not in Interval.values or not 1 <= interval_count <= 366:
        raise BillingError(BillingErrorCode.INVALID_INTERVAL)
    if not 0 <= trial_days <= 730:
        raise BillingError(BillingErrorCode.INVALID_TRIAL)
    if tax_behavior not in TaxBehavior.values:
        raise BillingError(BillingErrorCode.INVALID_PERCENTAGE)
    if tax_behavior != TaxBehavior.NONE:
        if tax_rate is None or tax_rate.organization_id != organization.pk:
            raise BillingError(BillingErrorCode.INVALID_PERCENTAGE)
        if not tax_rate.active:
            raise BillingError(BillingErrorCode.TAX_RATE_INACTIVE)
    return currency


def price_create(
    *,
    product: Product,
    currency: str,
    amount_minor: int,
    interval: str = Interval.MONTH,
    interval_count: int = 1,
    trial_days: int = 0,
    setup_fee_minor: int = 0,
    tax_behavior: str = TaxBehavior.NONE,
    tax_rate: TaxRate | None = None,
    nickname: str = "",
) -> Price:
    """A new price. Errors (``BillingError``) before anything is written: unknown currency or
    one the organization does not use, non-positive or absurd amounts, bad interval."""
    org = product.organization
    currency = _validate_price_fields(
        org,
        currency=currency,
        amount_minor=amount_minor,
        interval=interval,
        interval_count=interval_count,
        trial_days=trial_days,
        setup_fee_minor=setup_fee_minor,
        tax_behavior=tax_behavior,
        tax_rate=tax_rate,
    )
    return Price.unscoped.create(
        organization=org,
        product=product,
        nickname=nickname,
        currency=currency,
        amount_minor=amount_minor,
        interval=interval,
        interval_count=interval_count,
        trial_days=trial_days,
        setup_fee_minor=setup_fee_minor,
        tax_behavior=tax_behavior,
        tax_rate=tax_rate if tax_behavior != TaxBehavior.NONE else None,
    )


def price_is_used(price: Price) -> bool:
    """True once any subscription or invoice line refers to the price."""
    from billing.models import InvoiceLine, Subscription

    return (
        Subscription.unscoped.filter(Q(price=price) | Q(pending_price=price)).exists()
        or InvoiceLine.unscoped.filter(price=price).exists()
    )


_PRICE_FIELDS = (
    "nickname",
    "currency",
    "amount_minor",
    "interval",
    "interval_count",
    "trial_days",
    "setup_fee_minor",
    "tax_behavior",
    "tax_rate",
)


@transaction.atomic
def price_update(*, price: Price, now: datetime | None = None, **changes) -> Price:
    """Change a price. An unused price is edited in place; a used one is never edited: a new
    version is created (``replaces`` = old, ``version`` + 1) and the old one archived.
    Subscriptions on the old version keep it until ``subscription_migrate_price``."""
    unknown = set(changes) - set(_PRICE_FIELDS)
    if unknown:
        raise TypeError(f"unknown price fields: {sorted(unknown)}")
    price = (
        Price.unscoped.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=price.pk)
    )
    if not price.active:
        raise BillingError(BillingErrorCode.PRICE_ARCHIVED)
    values = {f: getattr(price, f) for f in _PRICE_FIELDS}
    values.update(changes)
    currency = _validate_price_fields(
        price.organization,
        currency=values["currency"],
        amount_minor=values["amount_minor"],
        interval=values["interval"],
        interval_count=values["interval_count"],
        trial_days=values["trial_days"],
        setup_fee_minor=values["setup_fee_minor"],
        tax_behavior=values["tax_behavior"],
        tax_rate=values["tax_rate"],
    )
    values["currency"] = currency
    if values["tax_behavior"] == TaxBehavior.NONE:
        values["tax_rate"] = None
    if not price_is_used(price):
        for f, v in values.items():
            setattr(price, f, v)
        price.save()
        return price
    now = now or clock.now(price.organization)
    price.active = False
    price.archived_at = now
    price.save(update_fields=["active", "archived_at"])
    return Price.unscoped.create(
        organization=price.organization,
        product_id=price.product_id,
        version=price.version + 1,
        replaces=price,
        **values,
    )


def price_archive(*, price: Price, now: datetime | None = None) -> Price:
    """No new subscriptions on this price; existing ones keep it."""
    price.active = False
    price.archived_at = now or clock.now(price.organization)
    price.save(update_fields=["active", "archived_at"])
    return price


def coupon_create(
    *,
    organization: Organization,
    code: str,
    name: str,
    percent_off: Decimal | str | int | None = None,
    amount_off_minor: int | None = None,
    currency: str = "",
    duration: str = Coupon.Duration.ONCE,
    duration_periods: int | None = None,
    max_redemptions: int | None = None,
    redeem_by: datetime | None = None,
) -> Coupon:
    if (percent_off is None) == (amount_off_minor is None):
        raise BillingError(BillingErrorCode.COUPON_INVALID)
    pct = None
    if percent_off is not None:
        pct = _percentage(percent_off)
        if pct <= 0:
            raise BillingError(BillingErrorCode.INVALID_PERCENTAGE)
        currency = ""
    else:
        currency = validate_currency(organization, currency)
        validate_amount(amount_off_minor, currency)  # type: ignore[arg-type]
    if duration not in Coupon.Duration.values:
        raise BillingError(BillingErrorCode.COUPON_INVALID)
    if duration == Coupon.Duration.REPEATING:
        if not duration_periods or duration_periods < 1:
            raise BillingError(BillingErrorCode.COUPON_INVALID)
    else:
        duration_periods = None
    if max_redemptions is not None and max_redemptions < 1:
        raise BillingError(BillingErrorCode.COUPON_INVALID)
    return Coupon.unscoped.create(
        organization=organization,
        code=code.strip().upper(),
        name=name,
        percent_off=pct,
        amount_off_minor=amount_off_minor,
        currency=currency,
        duration=duration,
        duration_periods=duration_periods,
        max_redemptions=max_redemptions,
        redeem_by=redeem_by,
    )


def coupon_check(*, coupon: Coupon, currency: str, now: datetime) -> None:
    """Raise unless ``coupon`` can be redeemed now for a document in ``currency``."""
    if not coupon.active:
        raise BillingError(BillingErrorCode.COUPON_INACTIVE)
    if coupon.redeem_by is not None and now > coupon.redeem_by:
        raise BillingError(BillingErrorCode.COUPON_EXPIRED)
    if coupon.amount_off_minor is not None and coupon.currency != currency:
        raise BillingError(BillingErrorCode.CURRENCY_MISMATCH)
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise BillingError(BillingErrorCode.COUPON_EXHAUSTED)


def coupon_redeem(*, coupon: Coupon, currency: str, now: datetime) -> None:
    """Count one redemption, in the caller's transaction. The conditional UPDATE re-checks the
    limit after waiting for concurrent redeemers' row locks, and a check constraint backs it,
    so the limit is never exceeded."""
    coupon_check(coupon=coupon, currency=currency, now=now)
    updated = (
        Coupon.unscoped.filter(pk=coupon.pk, active=True)
        .filter(Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions")))
        .update(times_redeemed=F("times_redeemed") + 1)
    )
    if updated != 1:
        raise BillingError(BillingErrorCode.COUPON_EXHAUSTED)


def coupon_release(*, coupon: Coupon) -> None:
    """Give back one redemption (a subscription that redeemed ``coupon`` never started: an
    expired checkout), in the caller's transaction. Never below zero."""
    Coupon.unscoped.filter(pk=coupon.pk, times_redeemed__gt=0).update(
        times_redeemed=F("times_redeemed") - 1
    )
