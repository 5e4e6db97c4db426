"""Outbox event handlers: how loyalty learns what happened in billing.

Handler names are stored in ``HandlerRun`` and must never change. Each handler is also
idempotent on its own (unique ``source_key`` per award/reversal), so a repeated delivery or a
second event about the same invoice changes nothing.
"""

from __future__ import annotations

from billing.models import CreditNote, Invoice
from cobro.events import register_handler
from cobro.models import OutboxEvent
from loyalty.services.ledger import (
    points_award_for_invoice,
    points_reverse_for_credit_note,
    points_reverse_for_dispute,
)
from loyalty.services.referrals import referral_qualify_for_invoice


def _event_invoice(event: OutboxEvent) -> Invoice | None:
    """The event's invoice, only within the event's organization."""
    return (
        Invoice.unscoped.select_related("organization", "customer__organization")
        .filter(pk=event.payload.get("invoice_id"), organization_id=event.organization_id)
        .first()
    )


@register_handler("invoice.paid", name="loyalty.award_points")
def on_invoice_paid(event: OutboxEvent) -> None:
    invoice = _event_invoice(event)
    if invoice is not None:
        points_award_for_invoice(invoice=invoice)


@register_handler("invoice.paid", name="loyalty.referral_qualify")
def on_invoice_paid_referral(event: OutboxEvent) -> None:
    """The referred customer's first successful payment rewards both sides (once)."""
    invoice = _event_invoice(event)
    if invoice is not None:
        referral_qualify_for_invoice(invoice=invoice)


@register_handler("credit_note.issued", name="loyalty.reverse_points")
def on_credit_note_issued(event: OutboxEvent) -> None:
    note = (
        CreditNote.unscoped.select_related("invoice__organization", "invoice__customer")
        .filter(pk=event.payload.get("credit_note_id"), organization_id=event.organization_id)
        .first()
    )
    if note is not None:
        points_reverse_for_credit_note(credit_note=note)


@register_handler("payment.disputed", name="loyalty.reverse_points_on_dispute")
def on_payment_disputed(event: OutboxEvent) -> None:
    invoice = _event_invoice(event)
    if invoice is not None:
        key = f"{event.payload.get('attempt_id')}:{event.payload.get('dispute_id') or event.pk}"
        points_reverse_for_dispute(invoice=invoice, dispute_key=key)
