"""Timelines of the billing detail pages: everything that happened to an invoice or a
subscription, newest first - its domain events, audit entries, invoices, payment attempts,
credit notes and the messages sent about it."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.models import CreditNote, Invoice, Subscription
from cobro.selectors import EVENT_LABELS, kernel_timeline, timeline_entry, timeline_sorted
from customers.messaging.models import Message
from customers.selectors import message_entries


def _attempt_entries(invoice_ids: list[int]) -> list[dict]:
    from billing.payments.models import PaymentAttempt
    from billing.views.common import format_amount

    entries = []
    attempts = PaymentAttempt.objects.filter(invoice_id__in=invoice_ids).select_related(
        "organization"
    )
    for a in attempts.order_by("-created_at")[:100]:
        entries.append(
            timeline_entry(
                at=a.completed_at or a.created_at,
                kind="payment",
                label=_("Payment attempt %(n)s: %(status)s")
                % {"n": a.attempt_number, "status": a.get_status_display()},
                detail=format_amount(a.amount_minor, a.currency, a.organization)
                + (f" · {a.decline_code}" if a.decline_code else ""),
                url=reverse("payments:detail", kwargs={"pk": a.pk}),
            )
        )
    return entries


def invoice_timeline(invoice: Invoice, *, organization) -> list[dict]:
    notes = list(CreditNote.objects.filter(invoice=invoice))
    from billing.payments.models import PaymentAttempt

    attempts = list(PaymentAttempt.objects.filter(invoice=invoice).only("pk")[:100])
    entries = kernel_timeline([invoice, *notes, *attempts], labels=EVENT_LABELS)
    entries += _attempt_entries([invoice.pk])
    entries += [
        timeline_entry(
            at=n.issued_at,
            kind="credit_note",
            label=_("Credit note %(number)s") % {"number": n.number},
            detail=n.reason,
        )
        for n in notes
    ]
    entries += message_entries(
        Message.objects.filter(
            Q(params__invoice_id=invoice.pk) | Q(params__invoice_id=str(invoice.pk)),
            customer_id=invoice.customer_id,
        )[:100]
    )
    return timeline_sorted(entries)


def subscription_timeline(sub: Subscription, *, invoices: list[Invoice]) -> list[dict]:
    entries = kernel_timeline([sub, *invoices], labels=EVENT_LABELS)
    entries += [
        timeline_entry(
            at=inv.created_at,
            kind="invoice",
            label=_("Invoice %(number)s") % {"number": inv.number or _("draft")},
            detail=inv.get_status_display(),
            url=reverse("billing:invoice_detail", kwargs={"pk": inv.pk}),
        )
        for inv in invoices
    ]
    entries += _attempt_entries([inv.pk for inv in invoices])
    entries += message_entries(
        Message.objects.filter(
            Q(params__subscription_id=sub.pk)
            | Q(params__invoice_id__in=[inv.pk for inv in invoices]),
            customer_id=sub.customer_id,
        )[:100]
    )
    return timeline_sorted(entries)
