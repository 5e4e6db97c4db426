"""Manual payments: bank transfer (a reference per invoice, statement import) and cash.

A manual payment is a ``PaymentAttempt`` on the ``manual`` gateway created directly as
succeeded, for any amount up to what is outstanding. Partial payments stay on the payments
side: the invoice is marked paid (for its whole amount due) only when they cover it, so
``invoice_mark_paid`` never sees a partial amount. Amounts are minor units of the invoice's
currency.

Bank statement CSV (UTF-8, header row, ``,`` or ``;`` separated)::

    date,description,amount[,transaction_id]
    2026-03-05,TRANSFERENCIA CB-7K2M-Q9XD Juan Perez,12500.00,TX123

``date`` is ISO (``YYYY-MM-DD``) or ``DD-MM-YYYY``/``DD/MM/YYYY``; ``amount`` is in major units
with ``.`` as decimal point (thousand separators ``,`` are dropped); debits (negative) are
skipped. A line whose description holds a known reference for an open invoice and whose
amount is exactly what is outstanding is applied; every other credit is left for review.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Q, Subquery, Sum

from billing.models import Invoice
from billing.payments.error_codes import PaymentError, PaymentErrorCode
from billing.payments.models import (
    IN_FLIGHT,
    AttemptStatus,
    AttemptTrigger,
    BankStatementImport,
    BankStatementLine,
    BankTransferReference,
    PaymentAttempt,
    PaymentMethodType,
    attempt_idempotency_key,
)
from cobro import clock
from cobro.events import event_emit
from cobro.money import CurrencyError, Money

# Crockford-style alphabet without 0/O, 1/I/L, U: safe to read aloud and to type.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_REF_CHARS = f"[{REFERENCE_ALPHABET}]{{4}}"
REFERENCE_PATTERN = re.compile(rf"CB[\s\-_.]?({_REF_CHARS})[\s\-_.]?({_REF_CHARS})")
MANUAL_TYPES = (PaymentMethodType.BANK_TRANSFER, PaymentMethodType.CASH)


def _new_reference() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"CB-{chars[:4]}-{chars[4:]}"


def bank_transfer_reference_for(*, invoice: Invoice, now: datetime | None = None) -> str:
    """The invoice's transfer reference (``CB-XXXX-XXXX``), created on first use."""
    existing = BankTransferReference.unscoped.filter(invoice=invoice).first()
    if existing is not None:
        return existing.reference
    now = now or clock.now(invoice.organization)
    for _ in range(10):
        try:
            with transaction.atomic():
                row, _created = BankTransferReference.unscoped.get_or_create(
                    invoice=invoice,
                    defaults={
                        "organization_id": invoice.organization_id,
                        "reference": _new_reference(),
                        "created_at": now,
                    },
                )
                return row.reference
        except IntegrityError:  # the reference was taken in this organization: draw again
            continue
    raise RuntimeError("could not draw a unique transfer reference")


def bank_transfer_instructions(*, invoice: Invoice) -> dict[str, str]:
    """What the customer needs to pay ``invoice`` by transfer: the organization's bank
    details, the amount outstanding and the reference to write on the transfer."""
    from billing.gateways import gateway_for
    from billing.gateways.manual import ManualGateway

    gateway = gateway_for("manual", organization=invoice.organization)
    assert isinstance(gateway, ManualGateway)
    outstanding = invoice_outstanding_minor(invoice=invoice)
    return {
        **gateway.instructions(),
        "reference": bank_transfer_reference_for(invoice=invoice),
        "amount": Money(outstanding, invoice.currency).format(),
        "amount_minor": str(outstanding),
        "currency": invoice.currency,
    }


#: Attempts that are money received outside a gateway (transfer, cash) and still count.
MANUAL_RECEIVED = Q(
    gateway="manual", status__in=(AttemptStatus.SUCCEEDED, AttemptStatus.PARTIALLY_REFUNDED)
)
#: The same sum as a subquery annotation of ``Invoice`` (read with the invoice row lock).
MANUAL_RECEIVED_SUBQUERY = Subquery(
    PaymentAttempt.unscoped.filter(MANUAL_RECEIVED, invoice_id=OuterRef("pk"))
    .values("invoice_id")
    .annotate(s=Sum(F("amount_minor") - F("refunded_minor")))
    .values("s")[:1]
)


def _manual_received_minor(invoice_id: int) -> int:
    total = PaymentAttempt.unscoped.filter(MANUAL_RECEIVED, invoice_id=invoice_id).aggregate(
        s=Sum(F("amount_minor") - F("refunded_minor"))
    )["s"]
    return int(total or 0)


def invoice_outstanding_minor(*, invoice: Invoice) -> int:
    """What is still to pay on an open invoice: its amount due minus partial manual
    payments not yet applied to it (0 once the invoice is paid)."""
    if invoice.amount_due_minor <= 0:
        return 0
    return max(0, invoice.amount_due_minor - _manual_received_minor(invoice.pk))


def payment_record_manual(
    *,
    invoice: Invoice,
    amount_minor: int,
    method: str = PaymentMethodType.BANK_TRANSFER,
    reference: str = "",
    now: datetime | None = None,
) -> PaymentAttempt:
    """Record money that arrived outside a gateway (transfer or cash), fully or in part.

    Raises ``PaymentError`` when the invoice is not payable, a card payment is in flight,
    or the amount is not positive or exceeds what is outstanding."""
    from billing.payments.services.charging import PAYABLE_STATUSES, attempt_payload
    from billing.payments.services.dunning import dunning_on_success
    from billing.services.invoices import invoice_mark_paid

    if method not in MANUAL_TYPES:
        raise PaymentError(PaymentErrorCode.METHOD_NOT_FOUND)
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise PaymentError(PaymentErrorCode.AMOUNT_NOT_POSITIVE)
    with transaction.atomic():
        inv = (
            Invoice.unscoped.select_for_update(of=("self",))
            .select_related("organization")
            .get(pk=invoice.pk)
        )
        now = now or clock.now(inv.organization)
        if inv.status not in PAYABLE_STATUSES or inv.amount_due_minor <= 0:
            raise PaymentError(PaymentErrorCode.INVOICE_NOT_PAYABLE)
        if PaymentAttempt.unscoped.filter(invoice=inv, status__in=IN_FLIGHT).exists():
            # A card charge may be taking the money right now: settle that first.
            raise PaymentError(PaymentErrorCode.ATTEMPT_IN_FLIGHT)
        outstanding = invoice_outstanding_minor(invoice=inv)
        if amount_minor > outstanding:
            raise PaymentError(PaymentErrorCode.AMOUNT_EXCEEDS_DUE)
        last = PaymentAttempt.unscoped.filter(invoice=inv).aggregate(n=Max("attempt_number"))["n"]
        number = (last or 0) + 1
        attempt = PaymentAttempt.unscoped.create(
            organization=inv.organization,
            invoice=inv,
            customer_id=inv.customer_id,
            attempt_number=number,
            idempotency_key=attempt_idempotency_key(inv.pk, number),
            status=AttemptStatus.SUCCEEDED,
            trigger=AttemptTrigger.MANUAL,
            gateway="manual",
            amount_minor=amount_minor,
            currency=inv.currency,
            gateway_reference=reference[:200] or f"{method}",
            created_at=now,
            sent_at=now,
            completed_at=now,
        )
        event_emit(
            organization=inv.organization,
            type="payment.succeeded",
            payload=attempt_payload(attempt, method=method, partial=amount_minor < outstanding),
            subject=attempt,
        )
        if amount_minor == outstanding:
            inv = invoice_mark_paid(invoice=inv, now=now)
            dunning_on_success(invoice=inv, attempt=attempt, now=now)
        return attempt


# --- bank statement import --------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    line_number: int
    booked_on: date
    description: str
    amount_minor: int
    transaction_id: str


class StatementFormatError(PaymentError):
    def __init__(self, message: str) -> None:
        super().__init__(PaymentErrorCode.INVALID_STATEMENT, message)


def _parse_date(value: str) -> date:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(value)


def statement_parse(*, content: str, currency: str) -> list[StatementRow]:
    """Rows of a statement CSV (see the module docstring). Raises ``StatementFormatError``
    naming the first bad line."""
    sample = content[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")), delimiter=delimiter)
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    if not {"date", "description", "amount"} <= fields:
        raise StatementFormatError("the CSV needs the columns date, description and amount")
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        try:
            amount = Money.from_major(
                Decimal(row["amount"].replace(",", "").replace(" ", "")), currency
            )
            booked_on = _parse_date(row["date"])
        except (InvalidOperation, ValueError, CurrencyError) as exc:
            raise StatementFormatError(f"line {number}: {exc}") from exc
        rows.append(
            StatementRow(
                line_number=number,
                booked_on=booked_on,
                description=row["description"][:300],
                amount_minor=amount.amount_minor,
                transaction_id=row.get("transaction_id", "")[:100],
            )
        )
    return rows


def _fingerprint(row: StatementRow, currency: str) -> str:
    raw = "|".join(
        [
            row.booked_on.isoformat(),
            str(row.amount_minor),
            currency,
            row.description,
            row.transaction_id,
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def statement_import(
    *,
    organization,
    content: str,
    currency: str,
    filename: str = "",
    actor=None,
    now: datetime | None = None,
) -> BankStatementImport:
    """Import a statement: apply exact matches, leave the rest for review, skip lines
    already imported (same fingerprint) and debits."""
    now = now or clock.now(organization)
    rows = statement_parse(content=content, currency=currency)
    with transaction.atomic():
        statement = BankStatementImport.unscoped.create(
            organization=organization,
            filename=filename[:200],
            currency=currency,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
            uploaded_at=now,
            lines_total=len(rows),
        )
    for row in rows:
        outcome = _import_row(statement, row, now=now)
        if outcome == BankStatementLine.Status.MATCHED:
            statement.lines_matched += 1
        elif outcome == BankStatementLine.Status.REVIEW:
            statement.lines_review += 1
        else:
            statement.lines_skipped += 1
    statement.save(update_fields=["lines_matched", "lines_review", "lines_skipped"])
    return statement


def _import_row(statement: BankStatementImport, row: StatementRow, *, now: datetime) -> str:
    if row.amount_minor <= 0:
        return "skipped"
    Reason = BankStatementLine.Reason
    try:
        with transaction.atomic():
            line = BankStatementLine.unscoped.create(
                organization_id=statement.organization_id,
                statement=statement,
                line_number=row.line_number,
                booked_on=row.booked_on,
                description=row.description,
                bank_transaction_id=row.transaction_id,
                amount_minor=row.amount_minor,
                currency=statement.currency,
                fingerprint=_fingerprint(row, statement.currency),
                status=BankStatementLine.Status.REVIEW,
                reason=Reason.UNKNOWN_REFERENCE,
            )
            invoice = _invoice_for_description(statement.organization_id, row.description)
            if invoice is None:
                return line.status
            line.invoice = invoice
            if invoice.currency != statement.currency:
                line.reason = Reason.CURRENCY_MISMATCH
            elif invoice_outstanding_minor(invoice=invoice) <= 0:
                line.reason = Reason.NOT_PAYABLE
            elif row.amount_minor != invoice_outstanding_minor(invoice=invoice):
                line.reason = Reason.AMOUNT_MISMATCH
            else:
                try:
                    with transaction.atomic():
                        line.attempt = payment_record_manual(
                            invoice=invoice,
                            amount_minor=row.amount_minor,
                            reference=row.transaction_id or row.description,
                            now=now,
                        )
                    line.status = BankStatementLine.Status.MATCHED
                    line.reason = Reason.NONE
                except PaymentError:
                    line.reason = Reason.NOT_PAYABLE
            line.save()
            return line.status
    except IntegrityError:  # imported before
        return "skipped"


def _invoice_for_description(organization_id: int, description: str) -> Invoice | None:
    for match in REFERENCE_PATTERN.finditer(description.upper()):
        reference = f"CB-{match.group(1)}-{match.group(2)}"
        row = (
            BankTransferReference.unscoped.filter(
                organization_id=organization_id, reference=reference
            )
            .select_related("invoice")
            .first()
        )
        if row is not None:
            return row.invoice
    return None


def statement_line_apply(
    *,
    line: BankStatementLine,
    invoice: Invoice,
    amount_minor: int | None = None,
    now: datetime | None = None,
) -> BankStatementLine:
    """Staff resolve a line under review: record it (or ``amount_minor`` of it) as a
    payment of ``invoice``, partial payments included."""
    with transaction.atomic():
        locked = BankStatementLine.unscoped.select_for_update().get(pk=line.pk)
        if locked.status != BankStatementLine.Status.REVIEW:
            raise PaymentError(PaymentErrorCode.STATEMENT_LINE_DONE)
        if invoice.organization_id != locked.organization_id:
            raise PaymentError(PaymentErrorCode.INVOICE_NOT_PAYABLE)
        if invoice.currency != locked.currency:
            raise PaymentError(PaymentErrorCode.CURRENCY_MISMATCH)
        amount = locked.amount_minor if amount_minor is None else amount_minor
        if amount > locked.amount_minor:
            raise PaymentError(PaymentErrorCode.AMOUNT_EXCEEDS_DUE)
        locked.attempt = payment_record_manual(
            invoice=invoice,
            amount_minor=amount,
            reference=locked.bank_transaction_id or locked.description,
            now=now,
        )
        locked.invoice = invoice
        locked.status = BankStatementLine.Status.RESOLVED
        locked.save(update_fields=["attempt", "invoice", "status"])
        return locked


@transaction.atomic
def statement_line_dismiss(*, line: BankStatementLine) -> BankStatementLine:
    """Not a customer payment (e.g. interest, a transfer between own accounts)."""
    locked = BankStatementLine.unscoped.select_for_update().get(pk=line.pk)
    if locked.status != BankStatementLine.Status.REVIEW:
        raise PaymentError(PaymentErrorCode.STATEMENT_LINE_DONE)
    locked.status = BankStatementLine.Status.DISMISSED
    locked.save(update_fields=["status"])
    return locked
