"""The charge pipeline: create an attempt, execute it against the gateway, settle it.

Never two charges for one invoice:
1. ``payment_attempt_create`` locks the invoice, refuses when an attempt is in flight (the
   partial unique index ``paymentattempt_one_in_flight`` is the backstop) and stores the
   attempt with its idempotency key, derived from (invoice, attempt number), and commits;
2. ``payment_attempt_execute`` claims the attempt with one conditional UPDATE (``sent_at``
   from NULL to now): a redelivered task, a second worker or a janitor re-enqueue finds it
   claimed and does nothing. Only then is the gateway called, outside any transaction;
3. ``payment_attempt_settle`` records the answer under a row lock; an attempt that is already
   final is left alone, so the worker and the janitor may race harmlessly.
An attempt whose answer was lost (timeout, crash after the claim) stays in flight until
``payments_janitor_run`` asks the gateway by idempotency key or reference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, Sum

from billing.gateways import gateway_for
from billing.gateways.base import (
    ChargeResult,
    ChargeStatus,
    GatewayError,
    GatewayRateLimited,
    GatewayUnknownOutcome,
)
from billing.gateways.ratelimit import call_limited
from billing.models import Invoice, InvoiceStatus
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import (
    IN_FLIGHT,
    AttemptStatus,
    AttemptTrigger,
    PaymentAttempt,
    PaymentMethodType,
    attempt_idempotency_key,
)
from billing.payments.services.manual import (
    MANUAL_RECEIVED,
    MANUAL_RECEIVED_SUBQUERY,
)
from billing.payments.services.methods import invoice_charge_method
from cobro import clock
from cobro.events import event_emit

logger = logging.getLogger(__name__)

PAYABLE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
CHARGEABLE_TYPES = (PaymentMethodType.CARD, PaymentMethodType.WALLET)
NOT_PROCESSED = "not_processed"
NO_METHOD = "no_payment_method"


def attempt_payload(attempt: PaymentAttempt, **extra) -> dict:
    return {
        "attempt_id": attempt.pk,
        "invoice_id": attempt.invoice_id,
        "customer_id": attempt.customer_id,
        "attempt_number": attempt.attempt_number,
        "amount_minor": attempt.amount_minor,
        "currency": attempt.currency,
        "status": attempt.status,
        "gateway": attempt.gateway,
        "trigger": attempt.trigger,
        "decline_code": attempt.decline_code,
        "decline_message": attempt.decline_message,
        "hard_decline": attempt.hard_decline,
        **extra,
    }


def payment_attempt_create(
    *, invoice: Invoice, trigger: str, now: datetime | None = None
) -> PaymentAttempt:
    """Store the next attempt of ``invoice`` (status pending) with its idempotency key.

    Runs in its own transaction (or the caller's) and holds the invoice row lock. The method
    is the subscription's own card, else the customer's default (``invoice_charge_method``).
    Without a chargeable method the attempt is recorded as failed (``no_payment_method``) and
    dunning starts, so the customer is asked to add one. Raises ``PaymentError`` when the
    invoice is not payable or an attempt is already in flight."""
    with transaction.atomic():
        inv = (
            Invoice.unscoped.select_for_update(of=("self",))
            .select_related("organization")
            .get(pk=invoice.pk)
        )
        now = now or clock.now(inv.organization)
        if inv.status not in PAYABLE_STATUSES or inv.amount_due_minor <= 0:
            raise PaymentError(PaymentErrorCode.INVOICE_NOT_PAYABLE)
        # One read of the invoice's attempts (under the invoice lock): in flight, the last
        # number, and partial manual payments (a transfer of part of it reduce the charge).
        seen = PaymentAttempt.unscoped.filter(invoice=inv).aggregate(
            last=Max("attempt_number"),
            in_flight=Count("pk", filter=Q(status__in=IN_FLIGHT)),
            manual=Sum(F("amount_minor") - F("refunded_minor"), filter=MANUAL_RECEIVED),
        )
        if seen["in_flight"]:
            raise PaymentError(PaymentErrorCode.ATTEMPT_IN_FLIGHT)
        amount = max(0, inv.amount_due_minor - int(seen["manual"] or 0))
        if amount <= 0:
            raise PaymentError(PaymentErrorCode.INVOICE_NOT_PAYABLE)
        number = (seen["last"] or 0) + 1
        method = invoice_charge_method(invoice=inv)
        chargeable = method is not None and method.type in CHARGEABLE_TYPES
        try:
            with transaction.atomic():
                attempt = PaymentAttempt.unscoped.create(
                    organization=inv.organization,
                    invoice=inv,
                    customer_id=inv.customer_id,
                    attempt_number=number,
                    idempotency_key=attempt_idempotency_key(inv.pk, number),
                    status=AttemptStatus.PENDING if chargeable else AttemptStatus.FAILED,
                    trigger=trigger,
                    payment_method=method if chargeable else None,
                    gateway=method.gateway if method is not None and chargeable else "manual",
                    amount_minor=amount,
                    currency=inv.currency,
                    decline_code="" if chargeable else NO_METHOD,
                    decline_message="" if chargeable else "no chargeable payment method",
                    created_at=now,
                    completed_at=None if chargeable else now,
                )
        except IntegrityError:
            raise PaymentError(PaymentErrorCode.ATTEMPT_IN_FLIGHT) from None
        if not chargeable:
            _after_failure(attempt, now=now)
        return attempt


def payment_attempt_enqueue(attempt: PaymentAttempt) -> None:
    """Ask the payments queue to execute ``attempt`` once the current transaction commits."""
    if attempt.status != AttemptStatus.PENDING:
        return
    from billing.payments.tasks import payment_attempt_execute_task

    attempt_id = attempt.pk
    transaction.on_commit(lambda: payment_attempt_execute_task.delay(attempt_id))


def payment_attempt_execute(*, attempt_id: int) -> PaymentAttempt | None:
    """Claim ``attempt_id`` and call the gateway once. Returns None if already claimed."""
    claimed = PaymentAttempt.unscoped.filter(
        pk=attempt_id, status=AttemptStatus.PENDING, sent_at__isnull=True
    ).update(sent_at=clock.now())
    if not claimed:
        return None
    attempt = PaymentAttempt.unscoped.select_related(
        "organization", "payment_method", "invoice"
    ).get(pk=attempt_id)
    method = attempt.payment_method
    assert method is not None
    try:
        gateway = gateway_for(attempt.gateway, organization=attempt.organization)
        result = call_limited(
            gateway,
            lambda: gateway.charge(
                amount_minor=attempt.amount_minor,
                currency=attempt.currency,
                customer_ref=method.gateway_customer_id,
                method_token=method.gateway_token,
                idempotency_key=attempt.idempotency_key,
                description=f"Invoice {attempt.invoice.number}",
            ),
        )
    except GatewayRateLimited:
        # Nothing was charged: give the claim back and let the task retry later.
        PaymentAttempt.unscoped.filter(pk=attempt_id, status=AttemptStatus.PENDING).update(
            sent_at=None
        )
        raise
    except GatewayUnknownOutcome as exc:
        result = ChargeResult(ChargeStatus.UNKNOWN, message=str(exc)[:300])
    except GatewayError as exc:
        # Refused before anything was charged (bad credentials, invalid request).
        result = ChargeResult(
            ChargeStatus.FAILED, decline_code="gateway_error", message=str(exc)[:300]
        )
    except Exception as exc:  # a network error after sending: we cannot know
        logger.exception("gateway call for attempt %s ended without an answer", attempt_id)
        result = ChargeResult(ChargeStatus.UNKNOWN, message=repr(exc)[:300])
    return payment_attempt_settle(attempt_id=attempt_id, result=result, loaded=attempt)


def payment_attempt_settle(
    *,
    attempt_id: int,
    result: ChargeResult,
    now: datetime | None = None,
    loaded: PaymentAttempt | None = None,
) -> PaymentAttempt:
    """Record the gateway's answer. An attempt already final is returned unchanged.

    The write is one conditional UPDATE (``WHERE status IN (pending, unknown)``): it takes
    the row lock and re-checks the status under it, so of a worker, the janitor and a webhook
    settling at once exactly one wins and runs the effects (mark paid, events, dunning).
    ``loaded``: the attempt as the caller read it while in flight (the executing worker),
    which saves reading it again; otherwise it is read here."""
    with transaction.atomic():
        if loaded is None:
            attempt = PaymentAttempt.unscoped.select_related("organization").get(pk=attempt_id)
        else:
            attempt = loaded
        if attempt.status not in IN_FLIGHT:
            return attempt
        now = now or clock.now(attempt.organization)
        if result.reference:
            attempt.gateway_reference = result.reference
        if result.status == ChargeStatus.UNKNOWN:
            attempt.status = AttemptStatus.UNKNOWN
            attempt.decline_message = result.message[:300]
        else:
            attempt.completed_at = now
            if result.status == ChargeStatus.SUCCEEDED:
                attempt.status = AttemptStatus.SUCCEEDED
                attempt.decline_code = ""
                attempt.decline_message = ""
            else:
                attempt.status = AttemptStatus.FAILED
                attempt.decline_code = result.decline_code[:60] or "card_declined"
                attempt.decline_message = result.message[:300]
                attempt.hard_decline = result.hard_decline
        fields = ["status", "decline_message"]
        if result.reference:
            fields.append("gateway_reference")
        if attempt.status != AttemptStatus.UNKNOWN:
            fields += ["decline_code", "hard_decline", "completed_at"]
        won = PaymentAttempt.unscoped.filter(pk=attempt_id, status__in=IN_FLIGHT).update(
            **{name: getattr(attempt, name) for name in fields}
        )
        if not won:  # settled meanwhile by someone else: theirs stands
            return PaymentAttempt.unscoped.select_related("organization").get(pk=attempt_id)
        if attempt.status == AttemptStatus.SUCCEEDED:
            _after_success(attempt, now=now)
        elif attempt.status == AttemptStatus.FAILED:
            _after_failure(attempt, now=now)
        return attempt


def _after_success(attempt: PaymentAttempt, *, now: datetime) -> None:
    from billing.payments.services.dunning import dunning_on_success
    from billing.services.invoices import invoice_mark_paid

    # The invoice row lock and its partial manual payments in one read.
    invoice: Invoice = (
        Invoice.unscoped.select_for_update(of=("self",))
        .annotate(manual_received=MANUAL_RECEIVED_SUBQUERY)
        .get(pk=attempt.invoice_id)
    )
    manual_received = int(getattr(invoice, "manual_received", 0) or 0)
    outstanding = (
        max(0, invoice.amount_due_minor - manual_received) if invoice.amount_due_minor > 0 else 0
    )
    if invoice.status in PAYABLE_STATUSES and outstanding == attempt.amount_minor:
        invoice = invoice_mark_paid(invoice=invoice, now=now)
    else:
        # Paid some other way meanwhile (or the amount changed): staff must look at it.
        logger.warning(
            "attempt %s succeeded on invoice %s in status %s",
            attempt.pk,
            invoice.pk,
            invoice.status,
        )
        event_emit(
            organization=attempt.organization,
            type="payment.needs_review",
            payload=attempt_payload(attempt, invoice_status=invoice.status),
            subject=attempt,
        )
    event_emit(
        organization=attempt.organization,
        type="payment.succeeded",
        payload=attempt_payload(attempt),
        subject=attempt,
    )
    dunning_on_success(invoice=invoice, attempt=attempt, now=now)


def _after_failure(attempt: PaymentAttempt, *, now: datetime) -> None:
    from billing.payments.services.dunning import dunning_on_failure

    dunning_on_failure(attempt=attempt, now=now)


def invoice_pay_now(*, invoice: Invoice, trigger: str = AttemptTrigger.PAY_NOW) -> PaymentAttempt:
    """The customer (or staff) asks to pay now with the default method: create an attempt
    and execute it in this request. Safe against a concurrent automatic charge."""
    attempt = payment_attempt_create(invoice=invoice, trigger=trigger)
    if attempt.status != AttemptStatus.PENDING:
        return attempt
    return payment_attempt_execute(attempt_id=attempt.pk) or PaymentAttempt.unscoped.get(
        pk=attempt.pk
    )


@dataclass
class JanitorReport:
    settled: list[int] = field(default_factory=list)
    not_processed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    still_unknown: list[int] = field(default_factory=list)


def _retrieve(attempt: PaymentAttempt) -> ChargeResult | None:
    method = attempt.payment_method
    gateway = gateway_for(attempt.gateway, organization=attempt.organization)
    return call_limited(
        gateway,
        lambda: gateway.retrieve_payment(
            idempotency_key=attempt.idempotency_key,
            reference=attempt.gateway_reference,
            customer_ref=method.gateway_customer_id if method is not None else "",
        ),
    )


def payments_janitor_run(
    *, now: datetime | None = None, stale_after: timedelta | None = None, limit: int = 1000
) -> JanitorReport:
    """Settle in-flight attempts whose answer was lost by ASKING the gateway; never charge.

    - in flight and sent more than ``stale_after`` ago: retrieve by idempotency key or
      reference; the gateway's answer settles it; no record at all means the request never
      reached the gateway, so it fails as ``not_processed`` (dunning retries it at once);
    - pending and never sent (the enqueue was lost): enqueue it again (the claim makes that
      safe)."""
    now = now or clock.now()
    if stale_after is None:
        stale_after = timedelta(seconds=settings.COBRO_PAYMENT_STALE_SECONDS)
    cutoff = now - stale_after
    report = JanitorReport()
    stale = (
        PaymentAttempt.unscoped.filter(status__in=IN_FLIGHT, sent_at__lte=cutoff)
        .select_related("organization", "payment_method")
        .order_by("sent_at")[:limit]
    )
    for attempt in stale:
        try:
            result = _retrieve(attempt)
        except Exception:
            logger.exception("janitor could not ask the gateway about attempt %s", attempt.pk)
            report.still_unknown.append(attempt.pk)
            continue
        if result is None:
            result = ChargeResult(
                ChargeStatus.FAILED,
                decline_code=NOT_PROCESSED,
                message="the gateway has no record of this payment",
            )
            report.not_processed.append(attempt.pk)
        elif result.status == ChargeStatus.UNKNOWN:
            report.still_unknown.append(attempt.pk)
            continue
        payment_attempt_settle(attempt_id=attempt.pk, result=result)
        report.settled.append(attempt.pk)
    unsent = PaymentAttempt.unscoped.filter(
        status=AttemptStatus.PENDING, sent_at__isnull=True, created_at__lte=cutoff
    ).values_list("pk", flat=True)[:limit]
    from billing.payments.tasks import payment_attempt_execute_task

    for attempt_id in unsent:
        payment_attempt_execute_task.delay(attempt_id)
        report.requeued.append(attempt_id)
    return report
