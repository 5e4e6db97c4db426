"""Outbox handlers of payments. They only write attempts and ENQUEUE gateway work after
commit; the gateway is called by a task on the ``payments`` queue."""

from __future__ import annotations

import logging

from billing.models import CollectionMethod, Invoice, InvoiceStatus
from billing.payments.error_codes import PaymentError
from billing.payments.models import AttemptTrigger
from cobro.events import register_handler
from cobro.models import OutboxEvent

logger = logging.getLogger(__name__)


@register_handler("invoice.finalized", name="payments.charge_finalized_invoice")
def charge_finalized_invoice(event: OutboxEvent) -> None:
    """Create attempt #1 of an automatically collected invoice (once per event, thanks to
    ``HandlerRun``) and enqueue its execution after the dispatcher commits."""
    from billing.payments.services.charging import payment_attempt_create, payment_attempt_enqueue

    invoice = Invoice.unscoped.filter(pk=event.payload.get("invoice_id")).first()
    if invoice is None or invoice.collection_method != CollectionMethod.CHARGE_AUTOMATICALLY:
        return
    if invoice.status != InvoiceStatus.OPEN or invoice.amount_due_minor <= 0:
        return
    from billing.payments.models import PaymentAttempt

    if PaymentAttempt.unscoped.filter(invoice=invoice).exists():
        # Someone charged it already (a checkout's or a customer's "pay now"): what follows
        # a failure belongs to dunning, not to a second "first" attempt.
        return
    try:
        attempt = payment_attempt_create(invoice=invoice, trigger=AttemptTrigger.AUTOMATIC)
    except PaymentError as exc:  # paid meanwhile, or "pay now" got there first
        logger.info("invoice %s not charged automatically: %s", invoice.pk, exc.code)
        return
    payment_attempt_enqueue(attempt)
