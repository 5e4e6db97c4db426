"""Shared pieces of the billing staff views: permissions, money display, error mapping."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from billing.error_codes import BillingError, BillingErrorCode
from cobro.money import Money
from cobro.views.base import StaffView

# Organization country -> the locale amounts are shown in (es-CL shows $12.990 for CLP).
_COUNTRY_LOCALES = {"US": "en_US", "BR": "pt_BR"}


def money_locale(organization) -> str:
    country = (getattr(organization, "country", "") or "CL").upper()
    return _COUNTRY_LOCALES.get(country, f"es_{country}")


def format_amount(amount_minor: int | None, currency: str, organization) -> str:
    if amount_minor is None:
        return "—"
    return Money(int(amount_minor), currency).format(money_locale(organization))


class BillingView(StaffView):
    """Base of billing pages. Reads need "view"; writes need ``unsafe_permission``. Dates are
    shown and typed in the organization's time zone."""

    unsafe_permission = "bill"

    def dispatch(self, request, *args, **kwargs):
        org = getattr(request, "organization", None)
        if org is None:
            return super().dispatch(request, *args, **kwargs)
        with timezone.override(ZoneInfo(org.time_zone)):
            return super().dispatch(request, *args, **kwargs)

    def can(self, perm: str) -> bool:
        return self.membership.has_perm(perm)

    def perms(self) -> dict:
        return {
            "can_bill": self.can("bill"),
            "can_manage": self.can("manage"),
        }


class CatalogView(BillingView):
    unsafe_permission = "manage"


# Which form field a service error belongs to; anything else is shown above the form.
DEFAULT_ERROR_FIELDS: dict[BillingErrorCode, str | None] = {
    BillingErrorCode.AMOUNT_NOT_POSITIVE: "amount",
    BillingErrorCode.AMOUNT_NEGATIVE: "amount",
    BillingErrorCode.AMOUNT_TOO_LARGE: "amount",
    BillingErrorCode.CURRENCY_UNKNOWN: "currency",
    BillingErrorCode.CURRENCY_NOT_ENABLED: "currency",
    BillingErrorCode.CURRENCY_MISMATCH: "price",
    BillingErrorCode.INVALID_INTERVAL: "interval_count",
    BillingErrorCode.INVALID_ANCHOR_DAY: "anchor_day",
    BillingErrorCode.INVALID_QUANTITY: "quantity",
    BillingErrorCode.INVALID_TRIAL: "trial_days",
    BillingErrorCode.INVALID_PERCENTAGE: "percentage",
    BillingErrorCode.PRICE_ARCHIVED: "price",
    BillingErrorCode.COUPON_INVALID: "coupon",
    BillingErrorCode.COUPON_EXPIRED: "coupon",
    BillingErrorCode.COUPON_EXHAUSTED: "coupon",
    BillingErrorCode.COUPON_INACTIVE: "coupon",
    BillingErrorCode.TAX_RATE_INACTIVE: "tax_rate",
    BillingErrorCode.CREDIT_EXCEEDS_INVOICE: "amount",
}


def add_billing_error(
    form: forms.Form, exc: BillingError, fields: dict[BillingErrorCode, str | None] | None = None
) -> None:
    """Show a service's ``BillingError`` on the field it concerns (or above the form)."""
    mapping = {**DEFAULT_ERROR_FIELDS, **(fields or {})}
    field = mapping.get(exc.code)
    if field is not None and field not in form.fields:
        field = None
    form.add_error(field, exc.message)
