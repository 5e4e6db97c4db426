"""Quick actions from a conversation: they call the billing services (the rules live there),
leave a trace in the thread that the customer can read, and are audited.

Each takes the conversation and an object that must belong to the conversation's customer;
anything else is refused with ``SupportError(invalid_link)`` before anything is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction

from billing.currencies import validate_amount, validate_currency
from billing.models import CreditLedgerEntry, Invoice, InvoiceStatus, Subscription
from billing.services.credit import credit_ledger_add
from billing.services.subscriptions import subscription_pause
from cobro import clock
from cobro.services.audit import audit_record
from customers.messaging.services import message_queue
from support.error_codes import SupportError, SupportErrorCode
from support.models import Conversation, Entry
from support.services.conversations import event_add

RESENDABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)


def customer_invoice(conversation: Conversation, invoice_id) -> Invoice:
    invoice = Invoice.unscoped.filter(
        pk=invoice_id,
        organization_id=conversation.organization_id,
        customer_id=conversation.customer_id,
    ).first()
    if invoice is None:
        raise SupportError(SupportErrorCode.INVALID_LINK)
    return invoice


def customer_subscription(conversation: Conversation, subscription_id) -> Subscription:
    sub = Subscription.unscoped.filter(
        pk=subscription_id,
        organization_id=conversation.organization_id,
        customer_id=conversation.customer_id,
    ).first()
    if sub is None:
        raise SupportError(SupportErrorCode.INVALID_LINK)
    return sub


@transaction.atomic
def support_credit_apply(
    *,
    conversation: Conversation,
    amount_minor: int,
    currency: str,
    reason: str,
    actor,
    request=None,
) -> Entry:
    """Add ``amount_minor`` (minor units of ``currency``) to the customer's credit balance; the
    next invoices consume it. Raises ``BillingError``/``SupportError`` before writing."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise SupportError(SupportErrorCode.REASON_REQUIRED)
    if amount_minor <= 0:
        raise SupportError(SupportErrorCode.AMOUNT_NOT_POSITIVE)
    currency = validate_currency(conversation.organization, currency)
    validate_amount(amount_minor, currency)
    entry = credit_ledger_add(
        customer=conversation.customer,
        currency=currency,
        amount_minor=amount_minor,
        kind=CreditLedgerEntry.Kind.ADJUSTMENT,
        now=clock.now(conversation.organization),
        description=reason,
    )
    audit_record(
        organization=conversation.organization,
        actor=actor,
        action="support.credit_applied",
        target=conversation,
        changes={
            "customer": conversation.customer_id,
            "amount_minor": amount_minor,
            "currency": currency,
            "reason": reason,
            "credit_entry": entry.pk,
        },
        request=request,
    )
    return event_add(
        conversation=conversation,
        event="credit_applied",
        params={"amount_minor": amount_minor, "currency": currency},
        actor=actor,
    )


@transaction.atomic
def support_invoice_resend(*, conversation: Conversation, invoice_id, actor, request=None) -> Entry:
    """Email the invoice (with its PDF) to the customer again."""
    invoice = customer_invoice(conversation, invoice_id)
    if invoice.status not in RESENDABLE:
        raise SupportError(SupportErrorCode.INVALID_LINK)
    message_queue(
        customer=conversation.customer,
        template_key="invoice_issued",
        params={"invoice_id": invoice.pk},
        dedupe_key=f"support_resend:{invoice.pk}:{uuid.uuid4().hex}",
    )
    audit_record(
        organization=conversation.organization,
        actor=actor,
        action="support.invoice_resent",
        target=invoice,
        changes={"conversation": conversation.pk},
        request=request,
    )
    return event_add(
        conversation=conversation,
        event="invoice_resent",
        params={"number": invoice.number},
        actor=actor,
    )


def support_payment_retry(*, conversation: Conversation, invoice_id, actor, request=None) -> Entry:
    """Charge the invoice now with the customer's default method (the payments service
    decides; it refuses an invoice that is not payable or already being charged)."""
    from billing.payments.models import AttemptStatus, AttemptTrigger
    from billing.payments.services.charging import invoice_pay_now

    invoice = customer_invoice(conversation, invoice_id)
    attempt = invoice_pay_now(invoice=invoice, trigger=AttemptTrigger.STAFF)
    with transaction.atomic():
        audit_record(
            organization=conversation.organization,
            actor=actor,
            action="support.payment_retried",
            target=invoice,
            changes={"conversation": conversation.pk, "attempt": attempt.pk},
            request=request,
        )
        return event_add(
            conversation=conversation,
            event="payment_retried",
            params={
                "number": invoice.number,
                "succeeded": attempt.status == AttemptStatus.SUCCEEDED,
            },
            actor=actor,
        )


@transaction.atomic
def support_subscription_pause(
    *,
    conversation: Conversation,
    subscription_id,
    resume_at: datetime | None,
    actor,
    request=None,
) -> Entry:
    sub = customer_subscription(conversation, subscription_id)
    subscription_pause(subscription=sub, resume_at=resume_at)
    audit_record(
        organization=conversation.organization,
        actor=actor,
        action="support.subscription_paused",
        target=sub,
        changes={
            "conversation": conversation.pk,
            "resume_at": resume_at.isoformat() if resume_at else None,
        },
        request=request,
    )
    return event_add(
        conversation=conversation,
        event="subscription_paused",
        params={"resume_at": resume_at.isoformat() if resume_at else None},
        actor=actor,
    )
