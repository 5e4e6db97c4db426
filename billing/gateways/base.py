"""The one interface every payment gateway adapter implements.

Adapters translate between a provider's API and these plain results; they never touch our
models (the payment services do). Amounts are integer minor units of ``currency``.
A call whose outcome we cannot know (timeout, connection reset after sending) raises
``GatewayUnknownOutcome``: the caller records the attempt as ``unknown`` and the janitor later
asks ``retrieve_payment``; it is never retried by charging again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChargeResult:
    """What the gateway says about one payment. ``hard_decline``: retrying cannot help
    (stolen/lost card, closed account); soft declines may succeed later."""

    status: ChargeStatus
    reference: str = ""
    decline_code: str = ""
    message: str = ""
    hard_decline: bool = False
    amount_minor: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedMethod:
    """A reusable payment method at the provider: never a card number."""

    token: str
    type: str = "card"
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    fingerprint: str = ""
    #: ``type="wallet"``: the wallet's kind (``payments.WalletKind`` values, e.g. apple_pay).
    wallet: str = ""


@dataclass(frozen=True)
class RefundResult:
    succeeded: bool
    reference: str = ""
    message: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified inbound notification in gateway-neutral terms."""

    event_id: str
    type: str
    payment_reference: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    #: Our idempotency key when the payload carries it (metadata), to match an attempt
    #: whose gateway reference we never learned.
    idempotency_key: str = ""


class GatewayError(Exception):
    """The gateway refused the request outright (bad credentials, invalid request)."""


class GatewayUnknownOutcome(GatewayError):
    """We sent the request but do not know what happened (timeout, 5xx after sending)."""


class GatewayRateLimited(GatewayError):
    """The gateway answered 429: back off and try again later (nothing was charged)."""


class WebhookRejected(GatewayError):
    """Bad or stale signature, or a body we cannot parse: ignore it with no effect."""


# Decline codes on which retrying is pointless (hard declines), across providers.
HARD_DECLINE_CODES = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "invalid_account",
        "account_closed",
        "incorrect_number",
        "invalid_number",
        "card_not_supported",
        "do_not_honor_fraud",
        "fraudulent",
        "restricted_card",
        "cc_rejected_blacklist",
        "cc_rejected_bad_filled_card_number",
    }
)


class Gateway:
    """Base class of the adapters. ``credentials`` come decrypted from ``GatewayAccount``."""

    name = ""
    #: Most gateway calls allowed in flight at once per process (see ``ratelimit``).
    max_concurrency = 50
    #: Requests per second we allow ourselves against this gateway.
    max_rate = 100.0

    def __init__(self, *, credentials: dict[str, Any] | None = None, organization=None) -> None:
        self.credentials = credentials or {}
        self.organization = organization

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        raise NotImplementedError

    def save_method(self, *, customer_ref: str, token: str) -> SavedMethod:
        raise NotImplementedError

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
        raise NotImplementedError

    def retrieve_payment(
        self, *, idempotency_key: str, reference: str = "", customer_ref: str = ""
    ) -> ChargeResult | None:
        """The outcome of an earlier charge, or None when the gateway never saw it.
        ``reference`` is the gateway's id when we got one; otherwise the charge is looked up
        by ``idempotency_key`` (and ``customer_ref`` where the provider filters by it)."""
        raise NotImplementedError

    def refund(
        self, *, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        raise NotImplementedError

    def payment_idempotency_key(self, *, reference: str) -> str:
        """Our idempotency key as stored on the gateway's payment ``reference`` ("" if none)."""
        return ""

    def parse_webhook(self, *, body: bytes, headers: dict[str, str], secret: str) -> WebhookEvent:
        """Verify the signature and freshness, then parse. Raises ``WebhookRejected``."""
        raise NotImplementedError
