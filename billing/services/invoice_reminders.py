"""Reminders of overdue invoices sent by staff (one invoice at a time; the bulk action of the
invoice list calls this per selected row).

A reminder is an email of the ``invoice_reminder`` kind (billing topic: it is about money
owed, so it is sent whatever the marketing preferences) with the invoice PDF. At most one per
invoice and day in the organization's time zone: the message's dedupe key says so, so a
double-clicked or resubmitted bulk action sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import Invoice, InvoiceStatus
from cobro import clock
from cobro.services.audit import audit_record
from customers.messaging.kinds import Built, MessageKind, register_kind
from customers.messaging.models import Message, MessageStatus, Topic
from customers.messaging.services import message_queue

REMINDER_KIND = "invoice_reminder"


def _build(message) -> Built:
    from billing.documents.notifications import _invoice, _invoice_context, _pdf

    invoice = _invoice(message)
    return Built(context=_invoice_context(invoice), attachments=_pdf(invoice))


def _sample(organization, language: str) -> dict:
    from billing.documents.notifications import _sample_invoice

    return _sample_invoice(organization, language)


register_kind(
    MessageKind(
        key=REMINDER_KIND,
        topic=Topic.BILLING,
        label=gettext_lazy("Overdue invoice reminder"),
        build=_build,
        sample=_sample,
    )
)


def overdue_cutoff(organization, *, now: datetime) -> datetime:
    """Invoices due before this instant are overdue: the start of today in the
    organization's time zone (an invoice due today is not late yet)."""
    tz = ZoneInfo(organization.time_zone)
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


def invoice_is_overdue(invoice: Invoice, *, now: datetime) -> bool:
    return (
        invoice.status == InvoiceStatus.OPEN
        and invoice.amount_due_minor > 0
        and invoice.due_at is not None
        and invoice.due_at < overdue_cutoff(invoice.organization, now=now)
    )


def invoice_reminder_send(
    *, invoice: Invoice, actor=None, request=None, now: datetime | None = None
) -> Message:
    """Queue a reminder email for an overdue invoice. Raises ``BillingError`` when the invoice
    is not overdue, the customer has no email, or a reminder already went out today."""
    org = invoice.organization
    now = now or clock.now(org)
    if not invoice_is_overdue(invoice, now=now):
        raise BillingError(
            BillingErrorCode.INVALID_TRANSITION, _("Only open, overdue invoices get reminders.")
        )
    customer = invoice.customer
    if not customer.email:
        raise BillingError(
            BillingErrorCode.INVALID_TRANSITION, _("The customer has no email address.")
        )
    day = now.astimezone(ZoneInfo(org.time_zone)).strftime("%Y%m%d")
    dedupe_key = f"{REMINDER_KIND}:{invoice.pk}:{day}"
    if Message.objects.filter(organization=org, dedupe_key=dedupe_key).exists():
        raise BillingError(
            BillingErrorCode.INVALID_TRANSITION, _("A reminder was already sent today.")
        )
    with transaction.atomic():
        message = message_queue(
            customer=customer,
            template_key=REMINDER_KIND,
            params={"invoice_id": invoice.pk},
            dedupe_key=dedupe_key,
        )
        audit_record(
            organization=org,
            actor=actor,
            action="invoice.reminder_sent",
            target=invoice,
            changes={"message_id": message.pk},
            request=request,
        )
    if message.status == MessageStatus.SKIPPED:
        raise BillingError(
            BillingErrorCode.INVALID_TRANSITION,
            _("Not sent: the customer's address is suppressed (bounced or complained)."),
        )
    return message
