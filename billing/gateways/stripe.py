"""Stripe, through the official SDK (``stripe.StripeClient``).

- Cards are saved with a SetupIntent confirmed in the browser by Stripe.js: the server only
  sees the SetupIntent and PaymentMethod ids (``setup_intent_create``, then ``save_method``).
- Charges are off-session PaymentIntents created and confirmed in one call, sent with our
  idempotency key (``options={"idempotency_key": ...}``) and carrying it in the metadata, so
  the janitor can find a PaymentIntent whose answer was lost (``retrieve_payment``).
- The SDK's own network retries are off: a retried POST is only safe when the server honours
  idempotency keys, and our layer (one claimed attempt per key) already guarantees one call.
- Inbound webhooks are verified with ``stripe.Webhook.construct_event`` (HMAC-SHA256 of
  ``t.payload``) and a freshness tolerance.

Amounts: Stripe's "smallest currency unit" equals the ISO 4217 minor unit except for a few
currencies Stripe keeps two decimals for while ISO has none (ISK, UGX); ``_to_stripe`` and
``_from_stripe`` convert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

import stripe
from django.conf import settings

from billing.gateways.base import (
    HARD_DECLINE_CODES,
    ChargeResult,
    ChargeStatus,
    Gateway,
    GatewayError,
    GatewayRateLimited,
    GatewayUnknownOutcome,
    RefundResult,
    SavedMethod,
    WebhookEvent,
    WebhookRejected,
)

logger = logging.getLogger(__name__)

IDEMPOTENCY_METADATA_KEY = "cobro_idempotency_key"
# Seconds a signed webhook stays acceptable (Stripe's own default).
WEBHOOK_TOLERANCE_SECONDS = 300
REQUEST_TIMEOUT_SECONDS = 30
# At most this many recent PaymentIntents are scanned when Search is unavailable.
LIST_SCAN_LIMIT = 1000

_TWO_DECIMALS_AT_STRIPE = {"ISK": 100, "UGX": 100}


def _to_stripe(amount_minor: int, currency: str) -> int:
    return amount_minor * _TWO_DECIMALS_AT_STRIPE.get(currency.upper(), 1)


def _from_stripe(amount: int, currency: str) -> int:
    return amount // _TWO_DECIMALS_AT_STRIPE.get(currency.upper(), 1)


@dataclass(frozen=True)
class SetupIntentStart:
    """What the browser needs to let Stripe.js collect a card: never card data."""

    setup_intent_id: str
    client_secret: str
    publishable_key: str
    customer_ref: str


class StripeGateway(Gateway):
    name = "stripe"
    max_concurrency = 50
    # Stripe live mode allows about 100 requests/s per account; keep some headroom.
    max_rate = 80.0

    def __init__(self, *, credentials=None, organization=None) -> None:
        super().__init__(credentials=credentials, organization=organization)
        secret_key = self.credentials.get("secret_key", "")
        if not secret_key:
            raise GatewayError("Stripe secret key is not configured")
        base = self.credentials.get("api_base") or getattr(settings, "STRIPE_API_BASE", "")
        # A custom API base is a Stripe-compatible fake (localstripe in tests and demos);
        # it predates dynamic payment methods and refuses their parameters.
        self.compatible_fake = bool(base)
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": base} if base else None,
            max_network_retries=0,
            http_client=stripe.new_default_http_client(timeout=REQUEST_TIMEOUT_SECONDS),
        )

    # --- errors -------------------------------------------------------------------------------
    def _refused(self, exc: stripe.StripeError) -> GatewayError:
        if isinstance(exc, stripe.RateLimitError):
            return GatewayRateLimited(str(exc.user_message or exc))
        if isinstance(exc, stripe.APIConnectionError | stripe.APIError):
            return GatewayUnknownOutcome(f"stripe: {exc.user_message or exc}")
        return GatewayError(f"stripe: {exc.user_message or exc}")

    # --- customers and methods ----------------------------------------------------------------
    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        org = getattr(self.organization, "pk", "")
        try:
            customer = self.client.v1.customers.create(
                params=cast(
                    Any,
                    {
                        "email": email or None,
                        "name": name,
                        "metadata": {
                            "cobro_customer_id": reference,
                            "cobro_organization_id": str(org),
                        },
                    },
                ),
                options={"idempotency_key": f"cobro-org{org}-cus{reference}"},
            )
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return customer.id

    def setup_intent_create(self, *, customer_ref: str) -> SetupIntentStart:
        """A SetupIntent for saving a card for later off-session charges."""
        try:
            params: dict[str, Any] = {"usage": "off_session"}
            if customer_ref:  # none yet at checkout: save_method attaches it later
                params["customer"] = customer_ref
            intent = self.client.v1.setup_intents.create(params=cast(Any, params))
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return SetupIntentStart(
            setup_intent_id=intent.id,
            client_secret=intent.client_secret or "",
            publishable_key=self.credentials.get("publishable_key", ""),
            customer_ref=customer_ref,
        )

    def save_method(self, *, customer_ref: str, token: str) -> SavedMethod:
        """``token`` is a succeeded SetupIntent id (``seti_...``) or a PaymentMethod id."""
        try:
            pm_id = token
            if token.startswith("seti_"):
                intent = self.client.v1.setup_intents.retrieve(token)
                if intent.status != "succeeded" or not intent.payment_method:
                    raise GatewayError("stripe: the card was not confirmed")
                pm_id = _id_of(intent.payment_method)
            method = self.client.v1.payment_methods.retrieve(pm_id)
            if _id_of(method.customer) != customer_ref:
                method = self.client.v1.payment_methods.attach(
                    pm_id, params={"customer": customer_ref}
                )
        except stripe.CardError as exc:
            raise GatewayError(f"stripe: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return saved_method_from_stripe(method)

    # --- charges ------------------------------------------------------------------------------
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
        params: dict[str, Any] = {
            "amount": _to_stripe(amount_minor, currency),
            "currency": currency.lower(),
            "customer": customer_ref,
            "payment_method": method_token,
            "confirm": True,
            "off_session": True,
            "metadata": {
                IDEMPOTENCY_METADATA_KEY: idempotency_key,
                "description": description[:400],
            },
        }
        if not self.compatible_fake:
            # Off-session: no customer is present to follow a redirect, and without this
            # Stripe's dynamic payment methods would require a return_url.
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
        try:
            intent = self.client.v1.payment_intents.create(
                params=cast(Any, params), options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            return _declined(exc)
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return _intent_result(intent)

    def retrieve_payment(
        self, *, idempotency_key: str, reference: str = "", customer_ref: str = ""
    ) -> ChargeResult | None:
        try:
            if reference:
                return _intent_result(self.client.v1.payment_intents.retrieve(reference))
            intent = self._find_intent(idempotency_key)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise self._refused(exc) from exc
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return None if intent is None else _intent_result(intent)

    def _find_intent(self, idempotency_key: str):
        """The PaymentIntent created with ``idempotency_key``, found by its metadata: by the
        Search API where the account has it, else by scanning recent PaymentIntents."""
        query = f"metadata['{IDEMPOTENCY_METADATA_KEY}']:'{idempotency_key}'"
        try:
            found = self.client.v1.payment_intents.search(params={"query": query, "limit": 10})
            return next(iter(found.data), None)
        except stripe.InvalidRequestError as exc:
            if exc.http_status not in (400, 404):
                raise
            logger.info("stripe search unavailable (%s); scanning recent payments", exc.http_status)
        page = self.client.v1.payment_intents.list(params={"limit": 100})
        for seen, intent in enumerate(page.auto_paging_iter()):
            if seen >= LIST_SCAN_LIMIT:
                break
            if _get(_get(intent, "metadata"), IDEMPOTENCY_METADATA_KEY) == idempotency_key:
                return intent
        return None

    def refund(
        self, *, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        try:
            refund = self.client.v1.refunds.create(
                params={
                    "payment_intent": reference,
                    "amount": _to_stripe(amount_minor, currency),
                    "metadata": {IDEMPOTENCY_METADATA_KEY: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            return RefundResult(False, message=str(exc.user_message or exc))
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        if refund.status in ("failed", "canceled"):
            return RefundResult(False, reference=refund.id, message=str(refund.status))
        return RefundResult(True, reference=refund.id)

    # --- webhooks -----------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: dict[str, str], secret: str) -> WebhookEvent:
        signature = headers.get("stripe-signature") or headers.get("Stripe-Signature") or ""
        if not secret:
            raise WebhookRejected("no webhook signing secret configured")
        try:
            event = stripe.Webhook.construct_event(
                body, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise WebhookRejected(f"stripe webhook rejected: {exc}") from exc
        obj = event.data.object.to_dict() if hasattr(event.data.object, "to_dict") else {}
        return WebhookEvent(
            event_id=event.id,
            type=event.type,
            payment_reference=webhook_payment_reference(event.type, obj),
            data=obj,
            idempotency_key=str((obj.get("metadata") or {}).get(IDEMPOTENCY_METADATA_KEY) or ""),
        )

    def payment_idempotency_key(self, *, reference: str) -> str:
        try:
            intent = self.client.v1.payment_intents.retrieve(reference)
        except stripe.StripeError as exc:
            raise self._refused(exc) from exc
        return str(_get(_get(intent, "metadata"), IDEMPOTENCY_METADATA_KEY) or "")


#: Stripe wallets we can charge off-session like cards: a card PaymentMethod whose
#: ``card.wallet.type`` is one of these, or a PaymentMethod of type ``link``.
STRIPE_WALLETS = {"apple_pay", "google_pay", "samsung_pay", "link"}


def saved_method_from_stripe(method: Any) -> SavedMethod:
    """Display data of a Stripe PaymentMethod: a card, or a wallet holding a card (Apple Pay,
    Google Pay, Samsung Pay through ``card.wallet``; Link as its own type)."""
    card = _get(method, "card") or {}
    wallet = str(_get(_get(card, "wallet"), "type") or "")
    if _get(method, "type") == "link":
        wallet = "link"
    is_wallet = wallet in STRIPE_WALLETS
    return SavedMethod(
        token=str(_get(method, "id")),
        type="wallet" if is_wallet else "card",
        brand=str(_get(card, "brand") or ""),
        last4=str(_get(card, "last4") or ""),
        exp_month=_get(card, "exp_month"),
        exp_year=_get(card, "exp_year"),
        fingerprint=str(_get(card, "fingerprint") or ""),
        wallet=wallet if is_wallet else "",
    )


def webhook_payment_reference(event_type: str, obj: dict[str, Any]) -> str:
    """The PaymentIntent id an event is about (our ``gateway_reference``)."""
    if event_type.startswith("payment_intent."):
        return str(obj.get("id") or "")
    return str(_id_of(obj.get("payment_intent")) or "")


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    try:
        return obj[key]
    except (KeyError, TypeError):
        return getattr(obj, key, None)


def _id_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(_get(value, "id") or "")


def _intent_result(intent) -> ChargeResult:
    status = intent.status
    raw = {"id": intent.id, "status": status}
    amount = _from_stripe(int(intent.amount), str(intent.currency))
    if status == "succeeded":
        return ChargeResult(ChargeStatus.SUCCEEDED, reference=intent.id, amount_minor=amount)
    if status in ("processing", "requires_capture"):
        return ChargeResult(ChargeStatus.UNKNOWN, reference=intent.id, raw=raw)
    error = _get(intent, "last_payment_error") or {}
    if status == "requires_action":
        code = "authentication_required"
    else:
        code = str(_get(error, "decline_code") or _get(error, "code") or "card_declined")
    return ChargeResult(
        ChargeStatus.FAILED,
        reference=intent.id,
        decline_code=code,
        message=str(_get(error, "message") or status),
        hard_decline=code in HARD_DECLINE_CODES,
        raw=raw,
    )


def _declined(exc: stripe.CardError) -> ChargeResult:
    error = exc.error
    code = str(
        (error.decline_code if error else None) or exc.code or "card_declined"
    )  # decline_code is the issuer's reason; code the Stripe category
    intent = error.payment_intent if error else None
    return ChargeResult(
        ChargeStatus.FAILED,
        reference=_id_of(intent),
        decline_code=code,
        message=str(exc.user_message or exc)[:300],
        hard_decline=code in HARD_DECLINE_CODES,
    )
