"""Error codes of the checkout app: one Enum, one ``CheckoutError`` with a code and a message.

Services raise it before writing anything (or inside their transaction, so that nothing they
wrote survives). Pages show ``message`` on ``field`` (or above the form)."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class CheckoutErrorCode(StrEnum):
    PAGE_DISABLED = "pricing_page_disabled"
    PRICE_UNAVAILABLE = "price_unavailable"
    LINK_DISABLED = "link_disabled"
    LINK_EXPIRED = "link_expired"
    LINK_USED_UP = "link_used_up"
    COUPON_UNKNOWN = "coupon_unknown"
    COUPON_NOT_VALID = "coupon_not_valid"
    REFERRAL_INVALID = "referral_invalid"
    PAYMENT_METHOD_NOT_ALLOWED = "payment_method_not_allowed"
    CARD_MISSING = "card_missing"
    CARD_NOT_SAVED = "card_not_saved"
    CARD_DECLINED = "card_declined"
    INVALID_CUSTOMER = "invalid_customer"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    INVALID_QUANTITY = "invalid_quantity"
    NOT_RETRYABLE = "not_retryable"
    RATE_LIMITED = "rate_limited"
    BOT_SUSPECTED = "bot_suspected"


class CheckoutError(Exception):
    """A business rule refused the checkout. ``code`` is stable; ``message`` is translated;
    ``field`` names the form field it concerns (None: the whole form)."""

    def __init__(
        self, code: CheckoutErrorCode, message: str | None = None, *, field: str | None = None
    ) -> None:
        self.code = code
        self.field = field if field is not None else _DEFAULT_FIELDS.get(code)
        self.message = str(message) if message is not None else str(_DEFAULT_MESSAGES[code])
        super().__init__(f"{code.value}: {self.message}")


_DEFAULT_FIELDS = {
    CheckoutErrorCode.COUPON_UNKNOWN: "coupon_code",
    CheckoutErrorCode.COUPON_NOT_VALID: "coupon_code",
    CheckoutErrorCode.REFERRAL_INVALID: "referral_code",
    CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED: "payment_choice",
    CheckoutErrorCode.TERMS_NOT_ACCEPTED: "accept_terms",
    CheckoutErrorCode.INVALID_QUANTITY: "quantity",
}

_DEFAULT_MESSAGES = {
    CheckoutErrorCode.PAGE_DISABLED: _("This organization does not take sign-ups online."),
    CheckoutErrorCode.PRICE_UNAVAILABLE: _(
        "This plan is no longer available. Please choose another one on the pricing page."
    ),
    CheckoutErrorCode.LINK_DISABLED: _("This subscription link has been disabled."),
    CheckoutErrorCode.LINK_EXPIRED: _("This subscription link has expired."),
    CheckoutErrorCode.LINK_USED_UP: _("This subscription link has reached its usage limit."),
    CheckoutErrorCode.COUPON_UNKNOWN: _("This discount code does not exist."),
    CheckoutErrorCode.COUPON_NOT_VALID: _("This discount code is not valid for this plan."),
    CheckoutErrorCode.REFERRAL_INVALID: _("This referral code cannot be used."),
    CheckoutErrorCode.PAYMENT_METHOD_NOT_ALLOWED: _("Choose one of the payment methods offered."),
    CheckoutErrorCode.CARD_MISSING: _("Enter your card details."),
    CheckoutErrorCode.CARD_NOT_SAVED: _(
        "Your card could not be saved. Check the details or try another card."
    ),
    CheckoutErrorCode.CARD_DECLINED: _("Your card was declined. Try another card."),
    CheckoutErrorCode.INVALID_CUSTOMER: _("Please correct the highlighted fields."),
    CheckoutErrorCode.TERMS_NOT_ACCEPTED: _("You must accept the terms and conditions."),
    CheckoutErrorCode.INVALID_QUANTITY: _("The quantity must be between 1 and 1000."),
    CheckoutErrorCode.NOT_RETRYABLE: _("This payment cannot be retried any more."),
    CheckoutErrorCode.RATE_LIMITED: _(
        "Too many attempts from your connection. Please wait a few minutes and try again."
    ),
    CheckoutErrorCode.BOT_SUSPECTED: _("We could not process this form. Please try again."),
}
