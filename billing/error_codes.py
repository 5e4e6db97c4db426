"""Error codes of the billing app: one Enum, one ``BillingError`` carrying a code and a message.

Services raise ``BillingError`` before writing anything (or inside the transaction, so that
nothing they wrote survives). Views and the API show ``message`` and may branch on ``code``.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class BillingErrorCode(StrEnum):
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_NEGATIVE = "amount_negative"
    AMOUNT_TOO_LARGE = "amount_too_large"
    CURRENCY_UNKNOWN = "currency_unknown"
    CURRENCY_NOT_ENABLED = "currency_not_enabled"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_INTERVAL = "invalid_interval"
    INVALID_ANCHOR_DAY = "invalid_anchor_day"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_TRIAL = "invalid_trial"
    INVALID_PERCENTAGE = "invalid_percentage"
    INVALID_TRANSITION = "invalid_transition"
    PRICE_ARCHIVED = "price_archived"
    PRICE_IN_USE = "price_in_use"
    COUPON_INVALID = "coupon_invalid"
    COUPON_EXPIRED = "coupon_expired"
    COUPON_EXHAUSTED = "coupon_exhausted"
    COUPON_INACTIVE = "coupon_inactive"
    TAX_RATE_INACTIVE = "tax_rate_inactive"
    INVOICE_NOT_DRAFT = "invoice_not_draft"
    INVOICE_EMPTY = "invoice_empty"
    INVOICE_NOT_CREDITABLE = "invoice_not_creditable"
    CREDIT_EXCEEDS_INVOICE = "credit_exceeds_invoice"
    NOTHING_TO_CHANGE = "nothing_to_change"
    INVALID_DATE = "invalid_date"
    PARTIAL_PAYMENT = "partial_payment"


class BillingError(Exception):
    """A business rule refused the request. ``code`` is stable; ``message`` is translated."""

    def __init__(self, code: BillingErrorCode, message: str | None = None, **params) -> None:
        self.code = code
        self.params = params
        self.message = str(message) if message is not None else str(_DEFAULT_MESSAGES[code])
        super().__init__(f"{code.value}: {self.message}")


_DEFAULT_MESSAGES = {
    BillingErrorCode.AMOUNT_NOT_POSITIVE: _("The amount must be greater than zero."),
    BillingErrorCode.AMOUNT_NEGATIVE: _("The amount cannot be negative."),
    BillingErrorCode.AMOUNT_TOO_LARGE: _("The amount is too large."),
    BillingErrorCode.CURRENCY_UNKNOWN: _("Unknown currency code."),
    BillingErrorCode.CURRENCY_NOT_ENABLED: _("Your organization does not bill in this currency."),
    BillingErrorCode.CURRENCY_MISMATCH: _("Currencies do not match."),
    BillingErrorCode.INVALID_INTERVAL: _("Invalid billing interval."),
    BillingErrorCode.INVALID_ANCHOR_DAY: _("The billing day must be between 1 and 31."),
    BillingErrorCode.INVALID_QUANTITY: _("The quantity must be at least 1."),
    BillingErrorCode.INVALID_TRIAL: _("Invalid trial length."),
    BillingErrorCode.INVALID_PERCENTAGE: _("Invalid percentage."),
    BillingErrorCode.INVALID_TRANSITION: _("This action is not allowed in the current status."),
    BillingErrorCode.PRICE_ARCHIVED: _("This price is archived."),
    BillingErrorCode.PRICE_IN_USE: _("This price is in use and cannot be edited."),
    BillingErrorCode.COUPON_INVALID: _("Invalid coupon."),
    BillingErrorCode.COUPON_EXPIRED: _("This coupon has expired."),
    BillingErrorCode.COUPON_EXHAUSTED: _("This coupon has reached its redemption limit."),
    BillingErrorCode.COUPON_INACTIVE: _("This coupon is not active."),
    BillingErrorCode.TAX_RATE_INACTIVE: _("This tax rate is not active."),
    BillingErrorCode.INVOICE_NOT_DRAFT: _("Issued invoices cannot be changed."),
    BillingErrorCode.INVOICE_EMPTY: _("An invoice needs at least one line."),
    BillingErrorCode.INVOICE_NOT_CREDITABLE: _("Only open or paid invoices can be credited."),
    BillingErrorCode.CREDIT_EXCEEDS_INVOICE: _(
        "The credit note exceeds what remains to be credited on the invoice."
    ),
    BillingErrorCode.NOTHING_TO_CHANGE: _("Nothing to change."),
    BillingErrorCode.INVALID_DATE: _("Invalid date."),
    BillingErrorCode.PARTIAL_PAYMENT: _("Partial payments are not supported."),
}
