"""Reads of payments for the staff pages (all through the tenant-scoped managers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum

from billing.payments.models import BankStatementLine, DunningCase, PaymentAttempt, Refund
from cobro.listing import apply_date_range, apply_sort
from cobro.selectors import kernel_timeline, timeline_sorted


def recovered_revenue(*, now: datetime, days: int = 30) -> list[dict]:
    """Money collected after a failed payment (dunning cases that ended recovered), per
    currency: in the last ``days`` and in total. Amounts in minor units."""
    recovered = DunningCase.objects.filter(state=DunningCase.State.RECOVERED)
    since = now - timedelta(days=days)
    totals = {
        row["invoice__currency"]: row
        for row in recovered.values("invoice__currency").annotate(
            total=Sum("recovered_minor"), cases=Count("pk")
        )
    }
    recent = {
        row["invoice__currency"]: row["total"]
        for row in recovered.filter(updated_at__gte=since)
        .values("invoice__currency")
        .annotate(total=Sum("recovered_minor"))
    }
    return [
        {
            "currency": currency,
            "total_minor": int(row["total"] or 0),
            "recent_minor": int(recent.get(currency) or 0),
            "cases": row["cases"],
        }
        for currency, row in sorted(totals.items())
    ]


def dunning_active_count() -> int:
    return DunningCase.objects.filter(
        state__in=(DunningCase.State.ACTIVE, DunningCase.State.EXHAUSTED)
    ).count()


def payment_timeline(attempt: PaymentAttempt) -> list[dict]:
    """Everything that happened to the attempt's invoice, oldest first: each attempt's
    creation and outcome, refunds, the dunning schedule."""
    events: list[dict] = []
    attempts = PaymentAttempt.objects.filter(invoice_id=attempt.invoice_id).order_by(
        "created_at", "pk"
    )
    for a in attempts:
        events.append({"at": a.created_at, "kind": "attempt", "attempt": a})
        if a.completed_at:
            events.append({"at": a.completed_at, "kind": "outcome", "attempt": a})
    for r in Refund.objects.filter(attempt__invoice_id=attempt.invoice_id).select_related(
        "credit_note"
    ):
        events.append({"at": r.completed_at or r.created_at, "kind": "refund", "refund": r})
    case = DunningCase.objects.filter(invoice_id=attempt.invoice_id).first()
    if case is not None and case.next_retry_at:
        events.append({"at": case.next_retry_at, "kind": "next_retry", "case": case})
    if case is not None and case.final_action_at and not case.final_action_taken:
        events.append({"at": case.final_action_at, "kind": "final_action", "case": case})
    return sorted(events, key=lambda e: (e["at"], e["kind"] != "attempt"))


PAYMENT_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "amount": ("amount_minor", "pk"),
    "-amount": ("-amount_minor", "-pk"),
}


def filtered_payments(*, organization, data: dict) -> QuerySet[PaymentAttempt]:
    """Payment attempts of the list page and its CSV export (``PaymentListFilterForm``
    cleaned data): search (customer name/email, invoice number, gateway reference), status,
    gateway, day range on the attempt's creation (organization's time zone), currency and
    amount range, a whitelisted sort."""
    attempts = PaymentAttempt.objects.filter(organization=organization)
    if data.get("status"):
        attempts = attempts.filter(status=data["status"])
    if data.get("gateway"):
        attempts = attempts.filter(gateway=data["gateway"])
    q = (data.get("q") or "").strip()
    if q:
        attempts = attempts.filter(
            Q(customer__name__icontains=q)
            | Q(customer__email__icontains=q)
            | Q(invoice__number__icontains=q)
            | Q(gateway_reference=q)
        )
    attempts = apply_date_range(attempts, "created_at", data, organization.time_zone)
    if data.get("currency"):
        attempts = attempts.filter(currency=data["currency"])
    if data.get("amount_min_minor") is not None or data.get("amount_max_minor") is not None:
        attempts = attempts.filter(currency=data["amount_currency"])
        if data.get("amount_min_minor") is not None:
            attempts = attempts.filter(amount_minor__gte=data["amount_min_minor"])
        if data.get("amount_max_minor") is not None:
            attempts = attempts.filter(amount_minor__lte=data["amount_max_minor"])
    return apply_sort(attempts, PAYMENT_SORTS, data.get("sort") or "-created")


def payment_activity(attempt: PaymentAttempt) -> list[dict]:
    """The rest of the payment's story for its timeline: domain events about the attempt
    and its invoice, staff actions on them, and the emails sent about the invoice (receipt,
    failure notice, reminders). Entries have ``at``, ``kind``, ``label``, ``detail``, ``url``."""
    from customers.messaging.models import Message
    from customers.selectors import message_entries

    entries = kernel_timeline([attempt, attempt.invoice])
    entries += message_entries(
        Message.objects.filter(
            Q(params__invoice_id=attempt.invoice_id)
            | Q(params__invoice_id=str(attempt.invoice_id)),
            customer_id=attempt.customer_id,
        )[:100]
    )
    return timeline_sorted(entries)


def statement_lines_for_review():
    return BankStatementLine.objects.filter(status=BankStatementLine.Status.REVIEW).select_related(
        "invoice", "statement"
    )
