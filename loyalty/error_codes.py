"""Error codes of the loyalty app: one Enum, one ``LoyaltyError`` with a code and a message.
Services raise before writing anything (or inside their transaction), so an error leaves the
ledger unchanged."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class LoyaltyErrorCode(StrEnum):
    PROGRAMME_DISABLED = "programme_disabled"
    INSUFFICIENT_POINTS = "insufficient_points"
    REWARD_INACTIVE = "reward_inactive"
    REWARD_OUT_OF_STOCK = "reward_out_of_stock"
    REWARD_LIMIT_REACHED = "reward_limit_reached"
    INVALID_POINTS = "invalid_points"
    REASON_REQUIRED = "reason_required"
    INVALID_TRANSITION = "invalid_transition"
    REFERRALS_DISABLED = "referrals_disabled"
    REFERRAL_CODE_UNKNOWN = "referral_code_unknown"
    REFERRAL_CODE_OTHER_ORGANIZATION = "referral_code_other_organization"
    REFERRAL_SELF = "referral_self"
    REFERRAL_CAP_REACHED = "referral_cap_reached"
    REFERRAL_ALREADY_REFERRED = "referral_already_referred"
    REFERRAL_NOT_NEW_CUSTOMER = "referral_not_new_customer"
    REWARD_NO_SUBSCRIPTION = "reward_no_subscription"


MESSAGES = {
    LoyaltyErrorCode.PROGRAMME_DISABLED: _("The loyalty programme is not active."),
    LoyaltyErrorCode.INSUFFICIENT_POINTS: _(
        "Not enough points: %(balance)s available, %(needed)s needed."
    ),
    LoyaltyErrorCode.REWARD_INACTIVE: _("This reward is no longer available."),
    LoyaltyErrorCode.REWARD_OUT_OF_STOCK: _("This reward is out of stock."),
    LoyaltyErrorCode.REWARD_LIMIT_REACHED: _(
        "You have already redeemed this reward the maximum number of times."
    ),
    LoyaltyErrorCode.INVALID_POINTS: _("Enter a whole number of points other than zero."),
    LoyaltyErrorCode.REASON_REQUIRED: _("A reason is required."),
    LoyaltyErrorCode.INVALID_TRANSITION: _("This redemption cannot change to that status."),
    LoyaltyErrorCode.REFERRALS_DISABLED: _("Referrals are not active in this programme."),
    LoyaltyErrorCode.REFERRAL_CODE_UNKNOWN: _("This referral code does not exist."),
    LoyaltyErrorCode.REFERRAL_CODE_OTHER_ORGANIZATION: _(
        "This referral code belongs to another business."
    ),
    LoyaltyErrorCode.REFERRAL_SELF: _("A customer cannot refer themselves."),
    LoyaltyErrorCode.REFERRAL_CAP_REACHED: _(
        "This customer has reached the maximum number of referrals."
    ),
    LoyaltyErrorCode.REFERRAL_ALREADY_REFERRED: _("This customer was already referred."),
    LoyaltyErrorCode.REFERRAL_NOT_NEW_CUSTOMER: _(
        "Only new customers can use a referral code (this one has already paid)."
    ),
    LoyaltyErrorCode.REWARD_NO_SUBSCRIPTION: _(
        "This reward applies to a renewal and there is no active subscription to apply it to."
    ),
}


class LoyaltyError(Exception):
    def __init__(self, code: LoyaltyErrorCode, **params):
        self.code = code
        self.params = params
        message = MESSAGES[code]
        self.message = str(message) % params if params else str(message)
        super().__init__(self.message)


class ReferralError(LoyaltyError):
    """A referral code was refused; ``code`` is stable (API), ``message`` translated."""
