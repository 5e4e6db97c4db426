"""Error codes of payments: one Enum, one ``PaymentError`` carrying a code and a message."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class PaymentErrorCode(StrEnum):
    INVOICE_NOT_PAYABLE = "invoice_not_payable"
    ATTEMPT_IN_FLIGHT = "attempt_in_flight"
    NO_PAYMENT_METHOD = "no_payment_method"
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"
    REFUND_NOT_ALLOWED = "refund_not_allowed"
    REFUND_FAILED = "refund_failed"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_EXCEEDS_DUE = "amount_exceeds_due"
    METHOD_NOT_FOUND = "method_not_found"
    GATEWAY_ERROR = "gateway_error"
    INVALID_POLICY = "invalid_policy"
    INVALID_STATEMENT = "invalid_statement"
    STATEMENT_LINE_DONE = "statement_line_done"
    CURRENCY_MISMATCH = "currency_mismatch"


class PaymentError(Exception):
    def __init__(self, code: PaymentErrorCode, message: str | None = None) -> None:
        self.code = code
        self.message = str(message) if message is not None else str(_MESSAGES[code])
        super().__init__(f"{code.value}: {self.message}")


_MESSAGES = {
    PaymentErrorCode.INVOICE_NOT_PAYABLE: _("This invoice has nothing left to pay."),
    PaymentErrorCode.ATTEMPT_IN_FLIGHT: _("A payment for this invoice is already in progress."),
    PaymentErrorCode.NO_PAYMENT_METHOD: _("The customer has no payment method to charge."),
    PaymentErrorCode.REFUND_EXCEEDS_PAYMENT: _(
        "The refund is larger than what is left of the payment."
    ),
    PaymentErrorCode.REFUND_NOT_ALLOWED: _("Only successful payments can be refunded."),
    PaymentErrorCode.REFUND_FAILED: _("The gateway refused the refund."),
    PaymentErrorCode.AMOUNT_NOT_POSITIVE: _("The amount must be greater than zero."),
    PaymentErrorCode.AMOUNT_EXCEEDS_DUE: _("The amount is larger than what is due."),
    PaymentErrorCode.METHOD_NOT_FOUND: _("Payment method not found."),
    PaymentErrorCode.GATEWAY_ERROR: _("The payment gateway could not process the request."),
    PaymentErrorCode.INVALID_POLICY: _("Retry days must be increasing whole days."),
    PaymentErrorCode.INVALID_STATEMENT: _("The bank statement file could not be read."),
    PaymentErrorCode.STATEMENT_LINE_DONE: _("This statement line was already resolved."),
    PaymentErrorCode.CURRENCY_MISMATCH: _("The currencies do not match."),
}
