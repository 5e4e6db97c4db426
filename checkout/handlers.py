"""Outbox handlers of checkout: a checkout's first invoice paid later (a dunning retry, the
janitor settling a lost answer, staff recording a transfer) completes the checkout."""

from __future__ import annotations

from checkout.models import CheckoutSession, SessionStatus
from cobro.events import register_handler
from cobro.models import OutboxEvent


@register_handler("invoice.paid", name="checkout.complete_on_first_payment")
def complete_on_first_payment(event: OutboxEvent) -> None:
    from checkout.services.checkout import checkout_session_refresh

    invoice_id = event.payload.get("invoice_id")
    if not invoice_id:
        return
    for session in CheckoutSession.unscoped.filter(
        invoice_id=invoice_id, status=SessionStatus.AWAITING_PAYMENT
    ):
        checkout_session_refresh(session=session)
