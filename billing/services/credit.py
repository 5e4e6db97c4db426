"""Customer credit balance: an append-only ledger; the balance is a sum."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum

from billing.models import CreditLedgerEntry


def customer_credit_balance(*, customer, currency: str) -> int:
    """Credit available to ``customer`` in ``currency`` (minor units, never negative)."""
    total = CreditLedgerEntry.unscoped.filter(customer=customer, currency=currency).aggregate(
        s=Sum("amount_minor")
    )["s"]
    return int(total or 0)


def credit_ledger_add(
    *,
    customer,
    currency: str,
    amount_minor: int,
    kind: str,
    now: datetime,
    description: str = "",
    invoice=None,
    credit_note=None,
    subscription=None,
) -> CreditLedgerEntry:
    """Append one entry (positive adds credit, negative consumes it). Callers that consume
    credit hold a lock on the customer row so two invoices cannot spend the same credit."""
    return CreditLedgerEntry.unscoped.create(
        organization_id=customer.organization_id,
        customer=customer,
        currency=currency,
        amount_minor=amount_minor,
        kind=kind,
        description=description[:300],
        invoice=invoice,
        credit_note=credit_note,
        subscription=subscription,
        created_at=now,
    )
