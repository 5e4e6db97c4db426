"""Manual methods: bank transfer and cash. Nothing is charged online; staff record what
arrived (``billing.payments.services.manual``). The organization's bank details (the
instructions shown to customers) are this gateway's "credentials", stored encrypted like
any other gateway's."""

from __future__ import annotations

import secrets

from billing.gateways.base import (
    ChargeResult,
    Gateway,
    GatewayError,
    RefundResult,
    SavedMethod,
    WebhookRejected,
)

#: The fields of the transfer instructions, in display order.
INSTRUCTION_FIELDS = (
    "bank_name",
    "account_holder",
    "tax_id",
    "account_type",
    "account_number",
    "email",
)


class ManualGateway(Gateway):
    name = "manual"
    max_concurrency = 1000
    max_rate = 100_000.0

    def instructions(self) -> dict[str, str]:
        """The organization's bank details, for invoices and the portal."""
        return {k: str(self.credentials.get(k, "")) for k in INSTRUCTION_FIELDS}

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        return ""

    def save_method(self, *, customer_ref: str, token: str) -> SavedMethod:
        raise GatewayError("manual methods have no card to save")

    def charge(self, **kwargs) -> ChargeResult:
        raise GatewayError("manual methods cannot be charged; staff record the payment")

    def retrieve_payment(
        self, *, idempotency_key: str, reference: str = "", customer_ref: str = ""
    ) -> ChargeResult | None:
        return None

    def refund(
        self, *, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        # Staff give the money back by transfer or in cash; we record it and its credit note.
        return RefundResult(True, reference=f"manual-{secrets.token_hex(6)}")

    def parse_webhook(self, *, body: bytes, headers: dict[str, str], secret: str):
        raise WebhookRejected("manual methods send no webhooks")
