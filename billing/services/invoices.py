"""Invoices: persist a built document, finalize (number + immutable), void, mark
uncollectible/paid, one-off invoices with manual items, and credit notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from billing.currencies import validate_amount, validate_currency
from billing.error_codes import BillingError, BillingErrorCode
from billing.invoicing import DocumentDraft, LineDraft, TaxSpec, build_document
from billing.models import (
    INVOICE_TRANSITIONS,
    BillingReason,
    BillingSettings,
    CollectionMethod,
    CreditLedgerEntry,
    CreditNote,
    CreditNoteLine,
    DocumentType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    TaxRate,
)
from billing.services.credit import credit_ledger_add, customer_credit_balance
from billing.services.numbering import document_number_next
from cobro import clock
from cobro.events import event_emit


def _invoice_payload(invoice: Invoice) -> dict:
    return {
        "invoice_id": invoice.pk,
        "number": invoice.number,
        "customer_id": invoice.customer_id,
        "subscription_id": invoice.subscription_id,
        "currency": invoice.currency,
        "total_minor": invoice.total_minor,
        "amount_due_minor": invoice.amount_due_minor,
        "status": invoice.status,
        "collection_method": invoice.collection_method,
    }


def invoice_create_from_draft(
    *,
    customer,
    document: DocumentDraft,
    billing_reason: str,
    now: datetime,
    subscription=None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    collection_method: str = CollectionMethod.CHARGE_AUTOMATICALLY,
    memo: str = "",
) -> Invoice:
    """Write a draft invoice with its lines and per-rate taxes exactly as built. Runs in the
    caller's transaction (a unique violation on (subscription, period_start) propagates)."""
    org_id = customer.organization_id
    invoice = Invoice.unscoped.create(
        organization_id=org_id,
        customer=customer,
        subscription=subscription,
        currency=document.currency,
        status=InvoiceStatus.DRAFT,
        billing_reason=billing_reason,
        period_start=period_start,
        period_end=period_end,
        created_at=now,
        subtotal_minor=document.subtotal_minor,
        discount_minor=document.discount_minor,
        tax_minor=document.tax_minor,
        total_minor=document.total_minor,
        credit_applied_minor=0,
        amount_due_minor=document.total_minor,
        collection_method=collection_method,
        coupon_id=document.coupon_id,
        memo=memo,
    )
    _write_lines(invoice, document)
    event_emit(
        organization=customer.organization,
        type="invoice.created",
        payload=_invoice_payload(invoice),
        subject=invoice,
    )
    return invoice


def _write_lines(invoice: Invoice, document: DocumentDraft) -> None:
    InvoiceLine.unscoped.bulk_create(
        [
            InvoiceLine(
                organization_id=invoice.organization_id,
                invoice=invoice,
                position=i,
                kind=ln.kind,
                description=ln.description[:300],
                quantity=ln.quantity,
                unit_amount_minor=ln.unit_amount,
                amount_minor=ln.amount_minor,
                price_id=ln.price_id,
                tax_rate_id=ln.tax.rate_id if ln.tax else None,
                tax_inclusive=ln.tax_inclusive,
                period_start=ln.period_start,
                period_end=ln.period_end,
            )
            for i, ln in enumerate(document.lines)
        ]
    )
    InvoiceTax.unscoped.bulk_create(
        [
            InvoiceTax(
                organization_id=invoice.organization_id,
                invoice=invoice,
                tax_rate_id=t.tax.rate_id,  # type: ignore[misc]
                name=t.tax.name,
                percentage=t.tax.percentage,
                inclusive=t.inclusive,
                taxable_base_minor=t.taxable_base_minor,
                amount_minor=t.amount_minor,
            )
            for t in document.taxes
        ]
    )


def _lock_invoice(invoice: Invoice) -> Invoice:
    return (
        Invoice.unscoped.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=invoice.pk)
    )


def _check_transition(invoice: Invoice, to: str) -> None:
    if to not in INVOICE_TRANSITIONS[invoice.status]:
        raise BillingError(
            BillingErrorCode.INVALID_TRANSITION, current=invoice.status, requested=to
        )


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, now: datetime | None = None) -> Invoice:
    """Draft -> open: apply the customer's credit balance, take the next gap-free number and
    freeze the document. An invoice with nothing to pay becomes ``paid`` at once."""
    from customers.models import Customer

    invoice = _lock_invoice(invoice)
    org = invoice.organization
    now = now or clock.now(org)
    if invoice.status != InvoiceStatus.DRAFT:
        raise BillingError(BillingErrorCode.INVOICE_NOT_DRAFT)
    if not InvoiceLine.unscoped.filter(invoice=invoice).exists():
        raise BillingError(BillingErrorCode.INVOICE_EMPTY)
    if invoice.total_minor < 0:
        raise BillingError(BillingErrorCode.AMOUNT_NEGATIVE)
    # Serialize credit consumption per customer.
    customer = Customer.unscoped.select_for_update().get(pk=invoice.customer_id)
    applied = 0
    if invoice.total_minor > 0:
        balance = customer_credit_balance(customer=customer, currency=invoice.currency)
        applied = max(0, min(balance, invoice.total_minor))
    seq, number = document_number_next(organization=org, doc_type=DocumentType.INVOICE)
    invoice.sequence_number = seq
    invoice.number = number
    invoice.credit_applied_minor = applied
    invoice.amount_due_minor = invoice.total_minor - applied
    invoice.issued_at = now
    if invoice.collection_method == CollectionMethod.SEND_INVOICE:
        days = _days_until_due(invoice)
        invoice.due_at = now + timedelta(days=days)
    else:
        invoice.due_at = now
    if invoice.amount_due_minor == 0:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = now
    else:
        invoice.status = InvoiceStatus.OPEN
    invoice.save()
    if applied:
        credit_ledger_add(
            customer=customer,
            currency=invoice.currency,
            amount_minor=-applied,
            kind=CreditLedgerEntry.Kind.APPLIED,
            now=now,
            description=_("Applied to invoice %(number)s") % {"number": number},
            invoice=invoice,
        )
    event_emit(
        organization=org,
        type="invoice.finalized",
        payload=_invoice_payload(invoice),
        subject=invoice,
    )
    if invoice.status == InvoiceStatus.PAID:
        event_emit(
            organization=org,
            type="invoice.paid",
            payload=_invoice_payload(invoice),
            subject=invoice,
        )
    return invoice


def _days_until_due(invoice: Invoice) -> int:
    if invoice.subscription is not None:
        return invoice.subscription.days_until_due
    settings = BillingSettings.unscoped.filter(organization_id=invoice.organization_id).first()
    return settings.days_until_due if settings else 30


@transaction.atomic
def invoice_void(*, invoice: Invoice, now: datetime | None = None) -> Invoice:
    """Open/uncollectible (or draft) -> void. Credit applied to it goes back to the balance.

    Voiding a draft discards it: it never had a number and never gets one (numbers are taken
    only by ``invoice_finalize``, so the series stays gap-free), and it stays ``issued_at``-less,
    which is how lists, the portal and PDFs tell a discarded draft from a voided invoice.
    """
    invoice = _lock_invoice(invoice)
    now = now or clock.now(invoice.organization)
    _check_transition(invoice, InvoiceStatus.VOID)
    if invoice.amount_paid_minor:
        raise BillingError(BillingErrorCode.INVALID_TRANSITION)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now
    invoice.amount_due_minor = 0
    invoice.save(update_fields=["status", "voided_at", "amount_due_minor"])
    if invoice.credit_applied_minor:
        credit_ledger_add(
            customer=invoice.customer,
            currency=invoice.currency,
            amount_minor=invoice.credit_applied_minor,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            now=now,
            description=_("Credit returned from void invoice %(number)s")
            % {"number": invoice.number},
            invoice=invoice,
        )
    event_emit(
        organization=invoice.organization,
        type="invoice.voided",
        payload=_invoice_payload(invoice),
        subject=invoice,
    )
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, now: datetime | None = None) -> Invoice:
    invoice = _lock_invoice(invoice)
    _check_transition(invoice, InvoiceStatus.UNCOLLECTIBLE)
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    invoice.save(update_fields=["status"])
    event_emit(
        organization=invoice.organization,
        type="invoice.marked_uncollectible",
        payload=_invoice_payload(invoice),
        subject=invoice,
    )
    return invoice


@transaction.atomic
def invoice_mark_paid(
    *, invoice: Invoice, amount_minor: int | None = None, now: datetime | None = None
) -> Invoice:
    """Record a payment of the whole amount due (for payments and manual reconciliation)."""
    invoice = _lock_invoice(invoice)
    now = now or clock.now(invoice.organization)
    _check_transition(invoice, InvoiceStatus.PAID)
    amount = invoice.amount_due_minor if amount_minor is None else amount_minor
    if amount != invoice.amount_due_minor:
        raise BillingError(BillingErrorCode.PARTIAL_PAYMENT)
    invoice.amount_paid_minor += amount
    invoice.amount_due_minor = 0
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = now
    invoice.save(update_fields=["amount_paid_minor", "amount_due_minor", "status", "paid_at"])
    event_emit(
        organization=invoice.organization,
        type="invoice.paid",
        payload=_invoice_payload(invoice),
        subject=invoice,
    )
    return invoice


# -- one-off invoices ------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualItem:
    """A line of a one-off invoice: ``unit_amount_minor`` (> 0) times ``quantity``."""

    description: str
    unit_amount_minor: int
    quantity: int = 1
    tax_rate: TaxRate | None = None
    tax_inclusive: bool | None = None


def _tax_spec(rate: TaxRate | None) -> TaxSpec | None:
    if rate is None:
        return None
    if not rate.active:
        raise BillingError(BillingErrorCode.TAX_RATE_INACTIVE)
    return TaxSpec(rate.pk, rate.name, rate.percentage)


def manual_lines(items: list[ManualItem], currency: str) -> list[LineDraft]:
    if not items:
        raise BillingError(BillingErrorCode.INVOICE_EMPTY)
    lines = []
    for item in items:
        validate_amount(item.unit_amount_minor, currency)
        if item.quantity < 1:
            raise BillingError(BillingErrorCode.INVALID_QUANTITY)
        validate_amount(item.unit_amount_minor * item.quantity, currency)
        inclusive = (
            item.tax_inclusive
            if item.tax_inclusive is not None
            else bool(item.tax_rate and item.tax_rate.inclusive)
        )
        lines.append(
            LineDraft(
                kind="manual",
                description=item.description,
                amount_minor=item.unit_amount_minor * item.quantity,
                quantity=item.quantity,
                unit_amount_minor=item.unit_amount_minor,
                tax=_tax_spec(item.tax_rate),
                tax_inclusive=inclusive,
            )
        )
    return lines


@transaction.atomic
def invoice_create_one_off(
    *,
    customer,
    currency: str,
    items: list[ManualItem],
    collection_method: str = CollectionMethod.SEND_INVOICE,
    memo: str = "",
    finalize: bool = True,
    now: datetime | None = None,
) -> Invoice:
    """A one-off invoice with manual items (validated before anything is written)."""
    org = customer.organization
    now = now or clock.now(org)
    currency = validate_currency(org, currency)
    document = build_document(currency=currency, lines=manual_lines(items, currency))
    invoice = invoice_create_from_draft(
        customer=customer,
        document=document,
        billing_reason=BillingReason.MANUAL,
        now=now,
        collection_method=collection_method,
        memo=memo,
    )
    if finalize:
        invoice = invoice_finalize(invoice=invoice, now=now)
    return invoice


# -- credit notes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditItem:
    """A credit note line: a positive amount (tax handled like the invoice line it credits)."""

    description: str
    amount_minor: int
    invoice_line: InvoiceLine | None = None
    tax_rate: TaxRate | None = None
    tax_inclusive: bool = False


def invoice_creditable_minor(invoice: Invoice) -> int:
    """What may still be credited: the invoice total minus earlier credit notes."""
    done = CreditNote.unscoped.filter(invoice=invoice).aggregate(s=Sum("total_minor"))["s"] or 0
    return invoice.total_minor - int(done)


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    items: list[CreditItem] | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> CreditNote:
    """Issue a credit note against an open or paid invoice (``items=None``: the whole
    invoice). It reduces the amount still due on an open invoice first; any rest goes to the
    customer's credit balance. Never exceeds the invoice total minus earlier credit notes."""
    invoice = _lock_invoice(invoice)
    org = invoice.organization
    now = now or clock.now(org)
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        raise BillingError(BillingErrorCode.INVOICE_NOT_CREDITABLE)
    creditable = invoice_creditable_minor(invoice)
    if items is None:
        if creditable != invoice.total_minor:
            raise BillingError(BillingErrorCode.CREDIT_EXCEEDS_INVOICE)
        lines = [
            LineDraft(
                kind=ln.kind,
                description=ln.description,
                amount_minor=ln.amount_minor,
                tax=TaxSpec(ln.tax_rate.pk, ln.tax_rate.name, ln.tax_rate.percentage)
                if ln.tax_rate is not None
                else None,
                tax_inclusive=ln.tax_inclusive,
            )
            for ln in InvoiceLine.unscoped.filter(invoice=invoice).select_related("tax_rate")
        ]
        source_lines: list[InvoiceLine | None] = list(InvoiceLine.unscoped.filter(invoice=invoice))
    else:
        if not items:
            raise BillingError(BillingErrorCode.INVOICE_EMPTY)
        lines = []
        source_lines = []
        for item in items:
            validate_amount(item.amount_minor, invoice.currency)
            rate = item.tax_rate
            inclusive = item.tax_inclusive
            if item.invoice_line is not None:
                if item.invoice_line.invoice_id != invoice.pk:
                    raise BillingError(BillingErrorCode.INVOICE_NOT_CREDITABLE)
                rate = item.invoice_line.tax_rate
                inclusive = item.invoice_line.tax_inclusive
            lines.append(
                LineDraft(
                    kind="credit",
                    description=item.description,
                    amount_minor=item.amount_minor,
                    tax=_tax_spec(rate) if rate else None,
                    tax_inclusive=inclusive,
                )
            )
            source_lines.append(item.invoice_line)
    doc = build_document(currency=invoice.currency, lines=lines)
    if doc.total_minor <= 0:
        raise BillingError(BillingErrorCode.AMOUNT_NOT_POSITIVE)
    if doc.total_minor > creditable:
        raise BillingError(BillingErrorCode.CREDIT_EXCEEDS_INVOICE)
    seq, number = document_number_next(organization=org, doc_type=DocumentType.CREDIT_NOTE)
    to_invoice = min(doc.total_minor, invoice.amount_due_minor)
    if invoice.status != InvoiceStatus.OPEN:
        to_invoice = 0
    to_balance = doc.total_minor - to_invoice
    note = CreditNote.unscoped.create(
        organization=org,
        invoice=invoice,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        number=number,
        sequence_number=seq,
        reason=reason[:200],
        subtotal_minor=doc.subtotal_minor - doc.discount_minor,
        tax_minor=doc.tax_minor,
        total_minor=doc.total_minor,
        applied_to_invoice_minor=to_invoice,
        credited_to_balance_minor=to_balance,
        issued_at=now,
    )
    CreditNoteLine.unscoped.bulk_create(
        [
            CreditNoteLine(
                organization=org,
                credit_note=note,
                invoice_line=src,
                description=ln.description[:300],
                amount_minor=ln.amount_minor,
                tax_rate_id=ln.tax.rate_id if ln.tax else None,
                tax_inclusive=ln.tax_inclusive,
            )
            for ln, src in zip(doc.lines, source_lines, strict=True)
        ]
    )
    if to_invoice:
        invoice.amount_due_minor -= to_invoice
        fields = ["amount_due_minor"]
        if invoice.amount_due_minor == 0:
            invoice.status = InvoiceStatus.PAID
            invoice.paid_at = now
            fields += ["status", "paid_at"]
        invoice.save(update_fields=fields)
    if to_balance:
        credit_ledger_add(
            customer=invoice.customer,
            currency=invoice.currency,
            amount_minor=to_balance,
            kind=CreditLedgerEntry.Kind.CREDIT_NOTE,
            now=now,
            description=_("Credit note %(number)s") % {"number": number},
            invoice=invoice,
            credit_note=note,
        )
    event_emit(
        organization=org,
        type="credit_note.issued",
        payload={
            "credit_note_id": note.pk,
            "number": number,
            "invoice_id": invoice.pk,
            "customer_id": invoice.customer_id,
            "currency": invoice.currency,
            "total_minor": note.total_minor,
            "credited_to_balance_minor": to_balance,
        },
        subject=note,
    )
    return note
