"""Refunds of successful payments, each documented by a credit note.

The refund row (with its idempotency key) is stored and the amount reserved before the
gateway is called; a refund never exceeds what is left of the payment (refunded and pending
refunds included). The credit note corrects the invoice; since the money goes back to the
card, the customer's credit balance is not increased by it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from billing.gateways import gateway_for
from billing.gateways.ratelimit import call_limited
from billing.models import CreditLedgerEntry, Invoice
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import AttemptStatus, PaymentAttempt, Refund
from billing.payments.services.charging import attempt_payload
from billing.services.credit import credit_ledger_add
from billing.services.invoices import CreditItem, credit_note_issue, invoice_creditable_minor
from cobro import clock
from cobro.events import event_emit


def _reserved_minor(attempt: PaymentAttempt) -> int:
    pending = Refund.unscoped.filter(attempt=attempt, status=Refund.Status.PENDING).aggregate(
        s=Sum("amount_minor")
    )["s"]
    return attempt.refunded_minor + int(pending or 0)


def payment_refund(
    *,
    attempt: PaymentAttempt,
    amount_minor: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Refund:
    """Refund ``amount_minor`` (None: everything left) of a successful payment."""
    with transaction.atomic():
        att = (
            PaymentAttempt.unscoped.select_for_update()
            .select_related("organization")
            .get(pk=attempt.pk)
        )
        now = now or clock.now(att.organization)
        if att.status not in (AttemptStatus.SUCCEEDED, AttemptStatus.PARTIALLY_REFUNDED):
            raise PaymentError(PaymentErrorCode.REFUND_NOT_ALLOWED)
        left = att.amount_minor - _reserved_minor(att)
        amount = left if amount_minor is None else amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PaymentError(PaymentErrorCode.AMOUNT_NOT_POSITIVE)
        if amount > left:
            raise PaymentError(PaymentErrorCode.REFUND_EXCEEDS_PAYMENT)
        number = Refund.unscoped.filter(attempt=att).count() + 1
        refund = Refund.unscoped.create(
            organization=att.organization,
            attempt=att,
            amount_minor=amount,
            currency=att.currency,
            idempotency_key=f"cobro-refund-att{att.pk}-{number}",
            reason=reason[:200],
            created_at=now,
        )
    gateway = gateway_for(att.gateway, organization=att.organization)
    # An exception here (timeout) leaves the refund pending with its amount reserved, for
    # staff to check with the gateway; it is never sent twice by us.
    result = call_limited(
        gateway,
        lambda: gateway.refund(
            reference=att.gateway_reference,
            amount_minor=amount,
            currency=att.currency,
            idempotency_key=refund.idempotency_key,
        ),
    )
    if not result.succeeded:
        Refund.unscoped.filter(pk=refund.pk).update(status=Refund.Status.FAILED, completed_at=now)
        raise PaymentError(PaymentErrorCode.REFUND_FAILED, result.message or None)
    return _refund_record_success(refund=refund, reference=result.reference, now=now)


@transaction.atomic
def _refund_record_success(*, refund: Refund, reference: str, now: datetime) -> Refund:
    # Lock order everywhere: the payment, then its refunds (``payment_refund`` and the
    # webhook handlers do the same), so our own call and a webhook cannot deadlock.
    att = (
        PaymentAttempt.unscoped.select_for_update()
        .select_related("organization")
        .get(pk=refund.attempt_id)
    )
    refund = Refund.unscoped.select_for_update().get(pk=refund.pk)
    if refund.status != Refund.Status.PENDING:
        return refund
    att.refunded_minor += refund.amount_minor
    att.status = (
        AttemptStatus.REFUNDED
        if att.refunded_minor == att.amount_minor
        else AttemptStatus.PARTIALLY_REFUNDED
    )
    att.save(update_fields=["refunded_minor", "status"])
    invoice = Invoice.unscoped.get(pk=att.invoice_id)
    label = _("Refund of payment %(reference)s") % {"reference": att.gateway_reference}
    whole = refund.amount_minor == invoice.total_minor == invoice_creditable_minor(invoice)
    note = credit_note_issue(
        invoice=invoice,
        items=None if whole else [CreditItem(description=label, amount_minor=refund.amount_minor)],
        reason=refund.reason or label,
        now=now,
    )
    if note.credited_to_balance_minor:
        # The money went back to the card, not to the customer's balance.
        credit_ledger_add(
            customer=invoice.customer,
            currency=invoice.currency,
            amount_minor=-note.credited_to_balance_minor,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            now=now,
            description=label,
            invoice=invoice,
            credit_note=note,
        )
    refund.status = Refund.Status.SUCCEEDED
    refund.gateway_reference = reference
    refund.credit_note = note
    refund.completed_at = now
    refund.save()
    event_emit(
        organization=att.organization,
        type="payment.refunded",
        payload=attempt_payload(
            att,
            refund_id=refund.pk,
            refund_amount_minor=refund.amount_minor,
            credit_note_id=note.pk,
            credit_note_number=note.number,
        ),
        subject=att,
    )
    return refund
