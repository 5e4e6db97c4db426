"""Mercado Pago, through the official SDK (``mercadopago.SDK``).

- Customers and cards: ``POST /v1/customers``, ``POST /v1/customers/{id}/cards`` with the
  card token its hosted fields (Card Payment Brick / MercadoPago.js) made in the browser.
- Charges (off-session, the customer is not there to type the security code): Mercado Pago
  documents these as "Automatic Payments" (card on file without CVV), which Mercado Pago must
  enable for the organization's application (its commercial contact, by application id).
  We read the saved card (``GET /v1/customers/{id}/cards/{card_id}``) for its
  ``payment_method_id``, make a token for it without a security code (``POST /v1/card_tokens``
  with ``card_id``), then ``POST /v1/payments`` with ``payer.type=customer``, the
  ``payment_method_id`` and one installment, our key in ``X-Idempotency-Key`` (Mercado Pago
  deduplicates on it) and in ``external_reference``, which is how the janitor finds a payment
  whose answer was lost (``GET /v1/payments/search?external_reference=...``). An application
  that is not enabled gets the payment refused for the missing security code: that is a
  ``GatewayError`` naming the cause, never a decline of the card.
- Refunds: ``POST /v1/payments/{id}/refunds`` with its own idempotency key.
- Notifications: the ``x-signature`` header (``ts=...,v1=...``) is an HMAC-SHA256, with the
  application's secret, of the manifest ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``;
  checked with the SDK's ``WebhookSignatureValidator`` and a freshness tolerance. The
  notification only names the payment, so ``webhook_resolve`` reads its current state.

Amounts: Mercado Pago takes ``transaction_amount`` in major units (a JSON number); we convert
from and to ISO minor units exactly with ``Money``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import mercadopago
import requests
from django.conf import settings
from mercadopago.config import RequestOptions
from mercadopago.http import HttpClient
from mercadopago.webhook import InvalidWebhookSignatureError, WebhookSignatureValidator

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
from cobro.money import Money

MP_API_BASE = "https://api.mercadopago.com"
WEBHOOK_TOLERANCE_SECONDS = 300
REQUEST_TIMEOUT_SECONDS = 30.0

# status_detail of a rejected payment -> our decline code (soft unless in HARD_DECLINE_CODES).
DECLINE_CODES = {
    "cc_rejected_insufficient_amount": "insufficient_funds",
    "cc_rejected_bad_filled_date": "expired_card",
    "cc_rejected_bad_filled_security_code": "incorrect_cvc",
    "cc_rejected_call_for_authorize": "call_issuer",
    "cc_rejected_card_disabled": "card_not_supported",
    "cc_rejected_high_risk": "fraudulent",
    "cc_rejected_blacklist": "cc_rejected_blacklist",
    "cc_rejected_bad_filled_card_number": "cc_rejected_bad_filled_card_number",
    "cc_rejected_other_reason": "card_declined",
}


class _BaseUrlHttpClient(HttpClient):
    """The SDK's HTTP client sent to another API base (a local fake in tests), without the
    SDK's automatic retries (our layer makes exactly one call per idempotency key)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def request(self, method, url, maxretries=None, retry_on=None, backoff_factor=None, **kw):
        if self.base and url.startswith(MP_API_BASE):
            url = self.base + url[len(MP_API_BASE) :]
        try:
            return super().request(method, url, maxretries=0, retry_on=(), **kw)
        except requests.Timeout as exc:
            raise GatewayUnknownOutcome(f"mercadopago: {exc}") from exc
        except requests.ConnectionError as exc:
            raise GatewayUnknownOutcome(f"mercadopago: {exc}") from exc


class MercadoPagoGateway(Gateway):
    name = "mercadopago"
    max_concurrency = 30
    max_rate = 30.0

    def __init__(self, *, credentials=None, organization=None) -> None:
        super().__init__(credentials=credentials, organization=organization)
        token = self.credentials.get("access_token", "")
        if not token:
            raise GatewayError("Mercado Pago access token is not configured")
        base = self.credentials.get("api_base") or getattr(settings, "MERCADOPAGO_API_BASE", "")
        self.sdk = mercadopago.SDK(
            token,
            http_client=_BaseUrlHttpClient(str(base or "")),
            request_options=RequestOptions(
                connection_timeout=REQUEST_TIMEOUT_SECONDS, max_retries=0
            ),
        )

    def _options(self, idempotency_key: str | None = None) -> RequestOptions:
        headers = {"x-idempotency-key": idempotency_key} if idempotency_key else None
        return RequestOptions(
            access_token=self.credentials["access_token"],
            connection_timeout=REQUEST_TIMEOUT_SECONDS,
            custom_headers=headers,
            max_retries=0,
        )

    def _ok(self, answer: dict[str, Any], *, unknown_on_5xx: bool = False) -> dict[str, Any]:
        status = int(answer.get("status") or 0)
        body = answer.get("response") or {}
        if 200 <= status < 300:
            return body if isinstance(body, dict) else {"results": body}
        if status == 429:
            raise GatewayRateLimited("mercadopago: too many requests")
        message = body.get("message") if isinstance(body, dict) else ""
        if status >= 500 and unknown_on_5xx:
            raise GatewayUnknownOutcome(f"mercadopago {status}: {message}")
        raise GatewayError(f"mercadopago {status}: {message}")

    # --- customers and cards -----------------------------------------------------------------
    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        first, _sep, last = (name or "").partition(" ")
        body = self._ok(
            self.sdk.customer().create(
                {
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "description": f"cobro customer {reference}",
                },
                self._options(f"cobro-org{getattr(self.organization, 'pk', '')}-cus{reference}"),
            )
        )
        return str(body["id"])

    def save_method(self, *, customer_ref: str, token: str) -> SavedMethod:
        """``token`` is the card token made by Mercado Pago's hosted fields."""
        body = self._ok(self.sdk.card().create(customer_ref, {"token": token}, self._options()))
        method = body.get("payment_method") or {}
        return SavedMethod(
            token=str(body["id"]),
            type="card",
            brand=str(method.get("id") or ""),
            last4=str(body.get("last_four_digits") or ""),
            exp_month=body.get("expiration_month"),
            exp_year=body.get("expiration_year"),
            fingerprint=f"{body.get('first_six_digits', '')}-{body.get('last_four_digits', '')}",
        )

    # --- payments ----------------------------------------------------------------------------
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
        card = self._ok(self.sdk.card().get(customer_ref, method_token, self._options()))
        card_token = self._ok(
            self.sdk.card_token().create(
                {"card_id": method_token, "customer_id": customer_ref}, self._options()
            )
        )
        payment: dict[str, Any] = {
            "transaction_amount": _to_major(amount_minor, currency),
            "token": card_token["id"],
            "description": description or "Cobro",
            "installments": 1,
            "payer": {"type": "customer", "id": customer_ref},
            "external_reference": idempotency_key,
            "metadata": {"cobro_idempotency_key": idempotency_key},
        }
        method_id = (card.get("payment_method") or {}).get("id")
        if method_id:
            payment["payment_method_id"] = str(method_id)
        answer = self.sdk.payment().create(payment, self._options(idempotency_key))
        if _needs_security_code(answer):
            raise GatewayError(
                "mercadopago: the payment needs the card's security code: this application "
                "is not enabled for Automatic Payments (saved cards charged without CVV); "
                "ask Mercado Pago to enable it"
            )
        return _payment_result(self._ok(answer, unknown_on_5xx=True), currency)

    def retrieve_payment(
        self, *, idempotency_key: str, reference: str = "", customer_ref: str = ""
    ) -> ChargeResult | None:
        if reference:
            answer = self.sdk.payment().get(reference, self._options())
            if answer.get("status") == 404:
                return None
            payment = self._ok(answer)
        else:
            found = self._ok(
                self.sdk.payment().search(
                    {"external_reference": idempotency_key, "sort": "date_created"},
                    self._options(),
                )
            )
            results = found.get("results") or []
            if not results:
                return None
            payment = results[0]
        return _payment_result(payment, str(payment.get("currency_id") or ""))

    def refund(
        self, *, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        answer = self.sdk.refund().create(
            reference,
            {"amount": _to_major(amount_minor, currency)},
            self._options(idempotency_key),
        )
        status = int(answer.get("status") or 0)
        body = answer.get("response") or {}
        if 400 <= status < 500 and status != 429:
            return RefundResult(False, message=str(body.get("message") or status))
        body = self._ok(answer, unknown_on_5xx=True)
        if body.get("status") in ("rejected", "cancelled"):
            return RefundResult(False, reference=str(body.get("id", "")), message="rejected")
        return RefundResult(True, reference=str(body.get("id", "")))

    # --- notifications -----------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: dict[str, str], secret: str) -> WebhookEvent:
        try:
            payload = json.loads(body or b"{}")
        except ValueError as exc:
            raise WebhookRejected("mercadopago: body is not JSON") from exc
        if not isinstance(payload, dict):
            raise WebhookRejected("mercadopago: body is not an object")
        data_id = headers.get("query:data.id") or str((payload.get("data") or {}).get("id", ""))
        if data_id.isalnum():
            data_id = data_id.lower()  # the documented manifest uses it in lower case
        try:
            WebhookSignatureValidator.validate(
                headers.get("x-signature"),
                headers.get("x-request-id"),
                data_id,
                secret,
                tolerance_seconds=WEBHOOK_TOLERANCE_SECONDS,
            )
        except InvalidWebhookSignatureError as exc:
            raise WebhookRejected(f"mercadopago: {exc}") from exc
        notification_id = str(payload.get("id") or headers.get("x-request-id") or "")
        return WebhookEvent(
            event_id=f"{notification_id}:{payload.get('action', '')}:{data_id}",
            type=f"mercadopago.{payload.get('type') or payload.get('topic') or ''}",
            payment_reference=data_id,
            data=payload,
        )

    def webhook_resolve(self, event: WebhookEvent) -> WebhookEvent:
        """Read the payment a notification names and describe its state in the neutral
        event types the webhook service applies (the payment's CURRENT state, so the order
        notifications arrive in does not matter)."""
        if event.type != "mercadopago.payment" or not event.payment_reference:
            return event
        payment = self._ok(self.sdk.payment().get(event.payment_reference, self._options()))
        currency = str(payment.get("currency_id") or "")
        status = payment.get("status")
        key = str(
            payment.get("external_reference")
            or (payment.get("metadata") or {}).get("cobro_idempotency_key")
            or ""
        )
        data: dict[str, Any] = {"id": str(payment.get("id")), "status": status}
        kind = "mercadopago.payment.other"
        if status == "charged_back":
            kind = "charge.dispute.created"
            data.update(
                id=f"cb_{payment.get('id')}",
                reason=str(payment.get("status_detail") or ""),
                amount=_to_minor(payment.get("transaction_amount"), currency),
            )
        elif payment.get("refunds") or status == "refunded":
            kind = "charge.refunded"
            data["refunds"] = {
                "data": [
                    {
                        "id": str(r.get("id")),
                        "amount": _to_minor(r.get("amount"), currency),
                        "status": "succeeded",
                    }
                    for r in payment.get("refunds") or []
                    if r.get("status", "approved") == "approved"
                ]
            }
        elif status == "approved":
            kind = "payment_intent.succeeded"
        elif status in ("rejected", "cancelled"):
            kind = "payment_intent.payment_failed"
            code = _decline_code(str(payment.get("status_detail") or ""))
            data["last_payment_error"] = {"code": code, "message": payment.get("status_detail")}
        return WebhookEvent(
            event_id=event.event_id,
            type=kind,
            payment_reference=str(payment.get("id")),
            data=data,
            idempotency_key=key,
        )


def _to_major(amount_minor: int, currency: str) -> float | int:
    value = Money(amount_minor, currency).to_decimal()
    return int(value) if value == value.to_integral_value() else float(value)


def _to_minor(value: Any, currency: str) -> int:
    if value is None:
        return 0
    return Money.from_major(Decimal(str(value)), currency).amount_minor


def _needs_security_code(answer: dict[str, Any]) -> bool:
    """Mercado Pago's 400 for a card token without security code when the application may
    not charge saved cards without it (cause 3031, "security_code_id can't be null")."""
    if int(answer.get("status") or 0) != 400:
        return False
    body = answer.get("response") or {}
    if not isinstance(body, dict):
        return False
    causes = body.get("cause") or []
    texts = [str(body.get("message") or "")] + [
        f"{c.get('code', '')} {c.get('description', '')}" for c in causes if isinstance(c, dict)
    ]
    return any("security_code" in t or t.startswith("3031") for t in texts)


def _decline_code(status_detail: str) -> str:
    return DECLINE_CODES.get(status_detail, status_detail or "card_declined")


def _payment_result(payment: dict[str, Any], currency: str) -> ChargeResult:
    status = payment.get("status")
    reference = str(payment.get("id") or "")
    raw = {"id": reference, "status": status, "status_detail": payment.get("status_detail")}
    if status in ("approved", "refunded", "charged_back") or (
        status == "approved" and payment.get("refunds")
    ):
        return ChargeResult(
            ChargeStatus.SUCCEEDED,
            reference=reference,
            amount_minor=_to_minor(payment.get("transaction_amount"), currency),
            raw=raw,
        )
    if status in ("rejected", "cancelled"):
        code = _decline_code(str(payment.get("status_detail") or ""))
        return ChargeResult(
            ChargeStatus.FAILED,
            reference=reference,
            decline_code=code,
            message=str(payment.get("status_detail") or status),
            hard_decline=code in HARD_DECLINE_CODES,
            raw=raw,
        )
    # pending / in_process / authorized: not final yet; the janitor asks again later.
    return ChargeResult(ChargeStatus.UNKNOWN, reference=reference, raw=raw)
