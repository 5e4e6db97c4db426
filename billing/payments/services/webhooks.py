"""Inbound gateway webhooks: verify, record once, apply idempotently and in any order.

- The signature is checked with the organization's webhook secret (and a freshness window)
  before anything is stored; a rejected webhook changes nothing.
- ``InboundWebhook`` is unique on (gateway, event id): a replay finds the row and does nothing.
  The row and the event's effects commit together, so a crash mid-way lets the gateway's
  own retry apply it again.
- Effects only move forward, so the order of delivery does not matter: a refund or a dispute
  on a payment still in flight settles it as succeeded first (the money moved), a failure
  only settles an attempt still in flight, refunds are matched by the gateway's refund id or
  our idempotency key, and a dispute is flagged once.
Unknown event types are logged and acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.gateways import gateway_for
from billing.gateways.base import (
    HARD_DECLINE_CODES,
    ChargeResult,
    ChargeStatus,
    GatewayError,
    WebhookEvent,
    WebhookRejected,
)
from billing.payments.models import (
    IN_FLIGHT,
    AttemptStatus,
    GatewayAccount,
    InboundWebhook,
    PaymentAttempt,
    Refund,
)
from cobro import clock
from cobro.events import event_emit
from cobro.models import Organization
from cobro.tenancy.context import use_organization

logger = logging.getLogger(__name__)

IDEMPOTENCY_METADATA_KEY = "cobro_idempotency_key"


@dataclass(frozen=True)
class WebhookOutcome:
    status_code: int
    outcome: str


def inbound_webhook_receive(
    *, gateway: str, org_slug: str, body: bytes, headers: dict[str, str], query=None
) -> WebhookOutcome:
    """Verify and apply one notification. 400 for a bad or stale signature (nothing stored),
    200 for everything verified (applied, replayed or ignored)."""
    org = Organization.objects.filter(slug=org_slug).first()
    if org is None:
        return WebhookOutcome(404, "unknown organization")
    account = GatewayAccount.unscoped.filter(organization=org, gateway=gateway).first()
    if account is None or not account.enabled or not account.webhook_secret:
        logger.warning("%s webhook for %s: gateway not configured", gateway, org_slug)
        return WebhookOutcome(400, "gateway not configured")
    try:
        adapter = gateway_for(gateway, organization=org)
        event = adapter.parse_webhook(
            body=body, headers=_with_query(headers, query), secret=account.webhook_secret
        )
    except WebhookRejected as exc:
        logger.warning("%s webhook for %s rejected: %s", gateway, org_slug, exc)
        return WebhookOutcome(400, "rejected")
    except GatewayError as exc:
        logger.warning("%s webhook for %s not verifiable: %s", gateway, org_slug, exc)
        return WebhookOutcome(400, "rejected")
    if gateway == "mercadopago":
        event = _mercadopago_resolve(adapter, event)
    try:
        event = _with_idempotency_key(adapter, org, gateway, event)
    except GatewayError as exc:  # let the gateway deliver it again later
        logger.warning("%s webhook %s: gateway lookup failed: %s", gateway, event.event_id, exc)
        return WebhookOutcome(503, "retry later")
    with use_organization(org):
        return _record_and_apply(org=org, gateway=gateway, event=event)


def _with_idempotency_key(adapter, org, gateway: str, event: WebhookEvent) -> WebhookEvent:
    """An event about a payment whose reference we never learned (the charge's answer was
    lost) and whose payload lacks our key (a charge or dispute): ask the gateway for the
    payment's metadata, outside any transaction, so events match in any order."""
    if event.idempotency_key or not event.payment_reference or event.type not in HANDLED_TYPES:
        return event
    known = PaymentAttempt.unscoped.filter(
        organization=org, gateway=gateway, gateway_reference=event.payment_reference
    ).exists()
    if known:
        return event
    key = adapter.payment_idempotency_key(reference=event.payment_reference)
    return replace(event, idempotency_key=key) if key else event


def _with_query(headers: dict[str, str], query) -> dict[str, str]:
    # MercadoPago signs the ``data.id`` query parameter: hand it to the adapter.
    merged = {k.lower(): v for k, v in headers.items()}
    for key, value in (query or {}).items():
        merged[f"query:{key}"] = value
    return merged


def _mercadopago_resolve(adapter, event: WebhookEvent) -> WebhookEvent:
    """A MercadoPago notification says only "payment X changed": read X's state (after the
    signature check) and turn it into a gateway-neutral event."""
    resolve = getattr(adapter, "webhook_resolve", None)
    return resolve(event) if resolve is not None else event


def _record_and_apply(*, org, gateway: str, event: WebhookEvent) -> WebhookOutcome:
    now = clock.now(org)
    try:
        with transaction.atomic():
            row, created = InboundWebhook.unscoped.get_or_create(
                gateway=gateway,
                event_id=event.event_id,
                defaults={
                    "organization": org,
                    "type": event.type[:100],
                    "payload": event.data,
                    "received_at": now,
                },
            )
            if not created:
                return WebhookOutcome(200, "duplicate")
            outcome = _apply(org=org, gateway=gateway, event=event, now=now)
            row.outcome = outcome[:200]
            row.processed_at = now
            row.save(update_fields=["outcome", "processed_at"])
    except IntegrityError:  # the same event delivered twice at the same moment
        return WebhookOutcome(200, "duplicate")
    logger.info("%s webhook %s (%s): %s", gateway, event.event_id, event.type, outcome)
    return WebhookOutcome(200, outcome)


HANDLED_TYPES = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "charge.dispute.created",
)


def _apply(*, org, gateway: str, event: WebhookEvent, now: datetime) -> str:
    if event.type not in HANDLED_TYPES:
        return "ignored"
    attempt = _find_attempt(org=org, gateway=gateway, event=event)
    if attempt is None:
        logger.warning("%s webhook %s: no matching payment", gateway, event.event_id)
        return "no matching payment"
    obj = event.data
    if event.type == "payment_intent.succeeded":
        _settle_succeeded(attempt, event, now=now)
        return "succeeded"
    if event.type == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        code = str(error.get("decline_code") or error.get("code") or "card_declined")
        _settle(
            attempt,
            ChargeResult(
                ChargeStatus.FAILED,
                reference=event.payment_reference,
                decline_code=code,
                message=str(error.get("message") or "")[:300],
                hard_decline=code in HARD_DECLINE_CODES,
            ),
            now=now,
        )
        return "failed"
    if event.type == "charge.refunded":
        _settle_succeeded(attempt, event, now=now)
        refunds = (obj.get("refunds") or {}).get("data") or []
        if refunds:
            for refund in refunds:
                _apply_refund(attempt, refund, now=now)
        else:
            _apply_refunded_total(attempt, obj, event_id=event.event_id, now=now)
        return "refunded"
    if event.type in ("refund.created", "refund.updated"):
        _settle_succeeded(attempt, event, now=now)
        _apply_refund(attempt, obj, now=now)
        return "refund"
    if event.type == "charge.dispute.created":
        _settle_succeeded(attempt, event, now=now)
        _mark_disputed(attempt, obj, now=now)
        return "disputed"
    return "ignored"  # pragma: no cover - HANDLED_TYPES and the branches agree


def _find_attempt(*, org, gateway: str, event: WebhookEvent) -> PaymentAttempt | None:
    qs = PaymentAttempt.unscoped.filter(organization=org, gateway=gateway)
    if event.payment_reference:
        found = qs.filter(gateway_reference=event.payment_reference).first()
        if found is not None:
            return found
    if event.idempotency_key:
        return qs.filter(idempotency_key=event.idempotency_key).first()
    return None


def _settle(attempt: PaymentAttempt, result: ChargeResult, *, now: datetime) -> None:
    from billing.payments.services.charging import payment_attempt_settle

    if attempt.status in IN_FLIGHT:
        payment_attempt_settle(attempt_id=attempt.pk, result=result, now=now)
        attempt.refresh_from_db()


def _settle_succeeded(attempt: PaymentAttempt, event: WebhookEvent, *, now: datetime) -> None:
    """The money moved: an attempt still in flight (its answer lost) succeeded."""
    if attempt.status == AttemptStatus.FAILED:
        # We recorded a decline but the gateway says it charged: a person must look.
        if not attempt.disputed:
            from billing.payments.services.charging import attempt_payload

            event_emit(
                organization=attempt.organization,
                type="payment.needs_review",
                payload=attempt_payload(attempt, webhook_event=event.type),
                subject=attempt,
            )
        return
    _settle(
        attempt,
        ChargeResult(ChargeStatus.SUCCEEDED, reference=event.payment_reference),
        now=now,
    )


def _apply_refund(attempt: PaymentAttempt, refund: dict[str, Any], *, now: datetime) -> None:
    """One refund object of the gateway (Stripe ``re_...``), applied once."""
    from billing.payments.services.refunds import _refund_record_success

    refund_id = str(refund.get("id") or "")
    status = refund.get("status") or "succeeded"
    if not refund_id or status not in ("succeeded", "pending"):
        return
    # Hold the payment's lock while matching: our own refund call may be recording its
    # answer right now, and that happens under the same lock (payment, then refunds).
    att = PaymentAttempt.unscoped.select_for_update().get(pk=attempt.pk)
    ours = Refund.unscoped.filter(attempt=att, gateway_reference=refund_id).first()
    key = (refund.get("metadata") or {}).get(IDEMPOTENCY_METADATA_KEY)
    if ours is None and key:
        ours = Refund.unscoped.filter(attempt=att, idempotency_key=key).first()
    amount = _gateway_amount(refund.get("amount"), att)
    if ours is None:
        # No id and no key to match (the payload lacks our metadata): it may be OUR refund
        # whose answer (and so its gateway id) we have not recorded yet. Claim that one
        # rather than record the same money twice.
        ours = _our_unmatched_refund(att, amount)
        if ours is not None and ours.status != Refund.Status.PENDING:
            Refund.unscoped.filter(pk=ours.pk).update(gateway_reference=refund_id)
            return
    if ours is None:
        ours = _external_refund(att, amount, idempotency_key=f"{att.gateway}-{refund_id}", now=now)
        if ours is None:
            return
    if ours.status == Refund.Status.PENDING:
        _refund_record_success(refund=ours, reference=refund_id, now=now)


def _our_unmatched_refund(attempt: PaymentAttempt, amount_minor: int) -> Refund | None:
    """Our refund of exactly ``amount_minor`` on ``attempt`` that has no gateway id yet
    (in flight, or recorded from a charge's cumulative total), oldest first."""
    return (
        Refund.unscoped.filter(
            attempt=attempt,
            amount_minor=amount_minor,
            gateway_reference="",
            status__in=(Refund.Status.PENDING, Refund.Status.SUCCEEDED),
        )
        .order_by("created_at", "pk")
        .first()
    )


def _apply_refunded_total(
    attempt: PaymentAttempt, charge: dict[str, Any], *, event_id: str, now: datetime
) -> None:
    """A charge without its refund list: catch up to its cumulative ``amount_refunded``."""
    from billing.payments.services.refunds import _refund_record_success

    # Lock the payment BEFORE reading what is refunded: reading it unlocked let our own
    # refund call commit in between, and its amount was then recorded a second time.
    attempt = PaymentAttempt.unscoped.select_for_update().get(pk=attempt.pk)
    target = _gateway_amount(charge.get("amount_refunded"), attempt)
    pendings = Refund.unscoped.filter(attempt=attempt, status=Refund.Status.PENDING)
    for pending in pendings.order_by("created_at", "pk"):
        if attempt.refunded_minor + pending.amount_minor <= target:
            _refund_record_success(refund=pending, reference="", now=now)
            attempt.refresh_from_db()
    missing = target - attempt.refunded_minor
    if missing > 0:
        refund = _external_refund(
            attempt, missing, idempotency_key=f"{attempt.gateway}-{event_id}", now=now
        )
        if refund is not None:
            _refund_record_success(refund=refund, reference="", now=now)


def _external_refund(
    attempt: PaymentAttempt, amount_minor: int, *, idempotency_key: str, now: datetime
) -> Refund | None:
    """A refund made at the gateway (e.g. in its dashboard), recorded with a credit note."""
    from billing.payments.services.refunds import _reserved_minor

    att = PaymentAttempt.unscoped.select_for_update().get(pk=attempt.pk)
    left = att.amount_minor - _reserved_minor(att)
    if amount_minor <= 0 or amount_minor > left:
        logger.warning("refund of %s on attempt %s exceeds what is left", amount_minor, att.pk)
        return None
    refund, _created = Refund.unscoped.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "organization": att.organization,
            "attempt": att,
            "amount_minor": amount_minor,
            "currency": att.currency,
            "reason": _("Refunded at the payment gateway"),
            "created_at": now,
        },
    )
    return refund


def _mark_disputed(attempt: PaymentAttempt, dispute: dict[str, Any], *, now: datetime) -> None:
    from billing.payments.services.charging import attempt_payload

    att = PaymentAttempt.unscoped.select_for_update().get(pk=attempt.pk)
    if att.disputed:
        return
    att.disputed = True
    att.save(update_fields=["disputed"])
    event_emit(
        organization=att.organization,
        type="payment.disputed",
        payload=attempt_payload(
            att,
            dispute_id=str(dispute.get("id") or ""),
            dispute_reason=str(dispute.get("reason") or ""),
            dispute_amount_minor=_gateway_amount(dispute.get("amount"), att),
            disputed_at=now.isoformat(),
        ),
        subject=att,
    )


def _gateway_amount(value: Any, attempt: PaymentAttempt) -> int:
    """An amount as the gateway writes it, in ISO minor units of the attempt's currency."""
    try:
        amount = int(value or 0)
    except (TypeError, ValueError):
        return 0
    if attempt.gateway == "stripe":
        from billing.gateways.stripe import _from_stripe

        return _from_stripe(amount, attempt.currency)
    return amount
