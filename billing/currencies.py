"""Which currencies an organization bills in, and the bounds of an acceptable amount.

An organization uses its ``default_currency`` plus the ISO 4217 codes listed in
``BillingSettings.extra_currencies``. Prices, coupons and one-off invoices in any other
currency are refused with ``currency_not_enabled``.
"""

from __future__ import annotations

from billing.error_codes import BillingError, BillingErrorCode
from cobro.models import Organization
from cobro.money import currency_exponent, is_currency

# Anything at or above ten billion major units (e.g. USD 10,000,000,000.00) is a typo.
MAX_AMOUNT_MAJOR = 10**10


def max_amount_minor(currency: str) -> int:
    return MAX_AMOUNT_MAJOR * 10 ** currency_exponent(currency) - 1


def organization_currencies(organization: Organization) -> frozenset[str]:
    from billing.models import BillingSettings

    codes = {organization.default_currency.upper()}
    extra = (
        BillingSettings.unscoped.filter(organization=organization)
        .values_list("extra_currencies", flat=True)
        .first()
    )
    codes.update(str(c).upper() for c in (extra or []))
    return frozenset(codes)


def validate_currency(organization: Organization, currency: str) -> str:
    """Return the upper-cased code, or raise ``BillingError``."""
    code = (currency or "").upper()
    if not is_currency(code):
        raise BillingError(BillingErrorCode.CURRENCY_UNKNOWN, currency=currency)
    if code not in organization_currencies(organization):
        raise BillingError(BillingErrorCode.CURRENCY_NOT_ENABLED, currency=code)
    return code


def validate_amount(amount_minor: int, currency: str, *, allow_zero: bool = False) -> int:
    """An amount in minor units: an int, positive (or zero when allowed), below the cap."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amounts are int minor units")
    if amount_minor < 0 or (amount_minor == 0 and not allow_zero):
        code = (
            BillingErrorCode.AMOUNT_NEGATIVE if allow_zero else BillingErrorCode.AMOUNT_NOT_POSITIVE
        )
        raise BillingError(code, amount=amount_minor)
    if amount_minor > max_amount_minor(currency):
        raise BillingError(BillingErrorCode.AMOUNT_TOO_LARGE, amount=amount_minor)
    return amount_minor
