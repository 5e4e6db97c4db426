"""The built-in sandbox gateway: deterministic test cards, a ledger of what it "charged"
(``payments.SandboxCharge``), and an optional latency (``COBRO_SANDBOX_LATENCY_MS``).

Test cards (number -> behaviour). The sandbox hosted form turns a number into a token
``tok_sandbox_<behaviour>``; those tokens can also be used directly, like Stripe's ``tok_visa``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from billing.gateways.base import (
    ChargeResult,
    ChargeStatus,
    Gateway,
    GatewayError,
    GatewayUnknownOutcome,
    RefundResult,
    SavedMethod,
    WebhookRejected,
)
from cobro import clock


@dataclass(frozen=True)
class TestCard:
    number: str
    behaviour: str
    brand: str = "visa"
    decline_code: str = ""
    hard: bool = False


TEST_CARDS = [
    TestCard("4242424242424242", "success"),
    TestCard("5555555555554444", "success_mastercard", brand="mastercard"),
    TestCard("4000000000000002", "generic_decline", decline_code="card_declined"),
    TestCard("4000000000009995", "insufficient_funds", decline_code="insufficient_funds"),
    TestCard("4000000000000069", "expired_card", decline_code="expired_card", hard=True),
    TestCard("4000002500003155", "authentication_required", decline_code="authentication_required"),
    TestCard("4000000000000119", "processing_error", decline_code="processing_error"),
    TestCard("4000000000009979", "stolen_card", decline_code="stolen_card", hard=True),
    # Answers with a timeout AFTER charging: the outcome is unknown until queried.
    TestCard("4000000000000408", "timeout"),
    # Times out and did NOT charge (declined at the provider).
    TestCard("4000000000000416", "timeout_declined", decline_code="card_declined"),
]
CARDS_BY_NUMBER = {c.number: c for c in TEST_CARDS}
CARDS_BY_BEHAVIOUR = {c.behaviour: c for c in TEST_CARDS}


def sandbox_tokenize(number: str) -> str:
    """What the sandbox's hosted card field does in the browser: number -> token."""
    card = CARDS_BY_NUMBER.get(number.replace(" ", ""))
    if card is None:
        raise GatewayError("not a sandbox test card number")
    return f"tok_sandbox_{card.behaviour}"


#: A card held in the sandbox's test wallet (like Apple/Google Pay at a real provider):
#: ``tok_sandbox_wallet_<behaviour>`` saves a ``wallet`` method charged like that card.
WALLET_TOKEN_PREFIX = "tok_sandbox_wallet_"  # noqa: S105 - a test token prefix


def _card_for_token(token: str) -> TestCard:
    # Saved methods look like pm_sandbox_<behaviour>_<random>; tokens tok_sandbox_<behaviour>.
    for prefix in (WALLET_TOKEN_PREFIX, "tok_sandbox_", "pm_sandbox_"):
        if token.startswith(prefix):
            rest = token[len(prefix) :]
            behaviour = rest.rsplit("__", 1)[0]
            if behaviour in CARDS_BY_BEHAVIOUR:
                return CARDS_BY_BEHAVIOUR[behaviour]
    raise GatewayError("unknown sandbox token")


class SandboxGateway(Gateway):
    name = "sandbox"
    max_concurrency = 400
    max_rate = 10_000.0

    def _latency(self) -> None:
        ms = getattr(settings, "COBRO_SANDBOX_LATENCY_MS", 0)
        if ms:
            time.sleep(ms / 1000)

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        return f"cus_sandbox_{reference}"

    def save_method(self, *, customer_ref: str, token: str) -> SavedMethod:
        card = _card_for_token(token)
        return SavedMethod(
            token=f"pm_sandbox_{card.behaviour}__{secrets.token_hex(4)}",
            brand=card.brand,
            last4=card.number[-4:],
            exp_month=12,
            exp_year=clock.now().year + 3,
            fingerprint=f"fp_{card.number[-8:]}",
            type="wallet" if token.startswith(WALLET_TOKEN_PREFIX) else "card",
            wallet="sandbox_wallet" if token.startswith(WALLET_TOKEN_PREFIX) else "",
        )

    def charge(
        self,
        *,
        amount_minor: int,
        currency: str,
        customer_ref: str,
        method_token: str,
        idempotency_key: str,
        description: str = "",
    ) -> ChargeResult:
        from billing.payments.models import SandboxCharge

        card = _card_for_token(method_token)
        self._latency()
        succeeded = card.behaviour in ("success", "success_mastercard", "timeout")
        # The provider's own record, committed before it answers (as a real provider would):
        # gateway calls run outside any transaction, so this one INSERT autocommits.
        row = SandboxCharge.unscoped.create(
            organization=self.organization,
            idempotency_key=idempotency_key,
            reference=f"ch_sandbox_{secrets.token_hex(10)}",
            method_token=method_token,
            amount_minor=amount_minor,
            currency=currency,
            status="succeeded" if succeeded else "failed",
            decline_code="" if succeeded else card.decline_code,
            created_at=clock.now(),
        )
        if card.behaviour.startswith("timeout"):
            raise GatewayUnknownOutcome("sandbox: the gateway did not answer in time")
        return self._result(row, card)

    def _result(self, row, card: TestCard | None = None) -> ChargeResult:
        card = card or _card_for_token(row.method_token)
        if row.status == "succeeded":
            return ChargeResult(
                ChargeStatus.SUCCEEDED, reference=row.reference, amount_minor=row.amount_minor
            )
        return ChargeResult(
            ChargeStatus.FAILED,
            reference=row.reference,
            decline_code=row.decline_code,
            message=row.decline_code.replace("_", " "),
            hard_decline=card.hard,
        )

    def retrieve_payment(
        self, *, idempotency_key: str, reference: str = "", customer_ref: str = ""
    ) -> ChargeResult | None:
        from billing.payments.models import SandboxCharge

        qs = SandboxCharge.unscoped.filter(organization=self.organization)
        row = (
            qs.filter(reference=reference).first()
            if reference
            else qs.filter(idempotency_key=idempotency_key).order_by("created_at").first()
        )
        return None if row is None else self._result(row)

    def refund(
        self, *, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        from billing.payments.models import SandboxCharge

        self._latency()
        with transaction.atomic():
            row = (
                SandboxCharge.unscoped.select_for_update()
                .filter(organization=self.organization, reference=reference)
                .first()
            )
            if row is None or row.status != "succeeded":
                return RefundResult(False, message="no such charge")
            if row.refunded_minor + amount_minor > row.amount_minor:
                return RefundResult(False, message="amount exceeds the charge")
            row.refunded_minor += amount_minor
            row.save(update_fields=["refunded_minor"])
        return RefundResult(True, reference=f"re_sandbox_{secrets.token_hex(8)}")

    def parse_webhook(self, *, body: bytes, headers: dict[str, str], secret: str):
        raise WebhookRejected("the sandbox gateway sends no webhooks")
