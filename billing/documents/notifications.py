"""Billing emails: message kinds that need billing data, the outbox handlers that queue them
on each billing moment, the periodic reminders, and plan-based announcement segments.

These live on the billing side because they read invoices and subscriptions; the messaging
layer below (``customers.messaging``) knows nothing about billing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from billing.documents.rendering import Formatter, document_language, number_locale
from cobro import clock
from cobro.events import register_handler
from cobro.models import OutboxEvent
from customers.messaging.channels.base import Attachment
from customers.messaging.kinds import (
    Built,
    MessageKind,
    base_context,
    portal_url,
    register_kind,
    sample_base,
)
from customers.messaging.models import Topic
from customers.messaging.services import (
    message_queue,
    messaging_settings_for,
    register_segments,
)

logger = logging.getLogger(__name__)


# -- helpers ---------------------------------------------------------------------------------


def _formatter(customer, currency: str) -> Formatter:
    org = customer.organization
    language = document_language(customer)
    return Formatter(
        language=language,
        number_locale=number_locale(language, org.country),
        tz=ZoneInfo(org.time_zone),
        currency=currency,
    )


def _portal_link(organization, url_name: str) -> str:
    """A portal page if the portal has it, else the portal's home."""
    from django.conf import settings

    try:
        return settings.SITE_URL + reverse(
            f"portal:{url_name}", kwargs={"org_slug": organization.slug}
        )
    except NoReverseMatch:
        return portal_url(organization)


def _plan_name(subscription) -> str:
    price = subscription.price
    name = price.product.name
    return f"{name} ({price.nickname})" if price.nickname else name


def _invoice(message):
    from billing.models import Invoice

    return Invoice.unscoped.select_related("organization", "customer").get(
        pk=message.params["invoice_id"], organization_id=message.organization_id
    )


def _subscription(message):
    from billing.models import Subscription

    return Subscription.unscoped.select_related("price", "price__product", "customer").get(
        pk=message.params["subscription_id"], organization_id=message.organization_id
    )


def _invoice_context(invoice) -> dict:
    fmt = _formatter(invoice.customer, invoice.currency)
    period = ""
    if invoice.period_start and invoice.period_end:
        period = f"{fmt.date(invoice.period_start)} – {fmt.last_day(invoice.period_end)}"
    pay_by_transfer = invoice.collection_method == "send_invoice" and invoice.amount_due_minor > 0
    return {
        **base_context(invoice.customer),
        "invoice_number": invoice.number or "",
        "amount": fmt.money(invoice.total_minor),
        "amount_due": fmt.money(invoice.amount_due_minor),
        "amount_due_zero": "yes" if invoice.amount_due_minor == 0 else "",
        "due_date": fmt.date(invoice.due_at),
        "paid_date": fmt.date(invoice.paid_at),
        "period": period,
        "pay_by_transfer": "yes" if pay_by_transfer else "",
        # No per-invoice transfer reference exists in payments yet: the number is the reference.
        "transfer_reference": invoice.number or "",
        "invoice_url": _portal_link(invoice.organization, "invoices"),
        "update_payment_url": _portal_link(invoice.organization, "payment_method"),
    }


def _pdf(invoice, kind: str | None = None) -> list[Attachment]:
    from billing.documents.services import invoice_pdf_bytes

    filename, content = invoice_pdf_bytes(invoice_id=invoice.pk, kind=kind)
    return [Attachment(filename=filename, content=content)]


def _sample_invoice(organization, language: str) -> dict:
    from billing.documents.rendering import number_locale as nl

    loc = nl(language, organization.country)
    from cobro.money import Money

    amount = Money(
        119_000 if organization.default_currency == "CLP" else 11_900, organization.default_currency
    ).format(loc)
    return {
        **sample_base(organization, language),
        "invoice_number": "F-000123",
        "amount": amount,
        "amount_due": amount,
        "amount_due_zero": "",
        "due_date": "30/11/2026" if language.startswith("es") else "Nov 30, 2026",
        "paid_date": "25/11/2026" if language.startswith("es") else "Nov 25, 2026",
        "period": "1 nov 2026 – 30 nov 2026",
        "pay_by_transfer": "yes",
        "transfer_reference": "F-000123",
        "invoice_url": portal_url(organization),
        "update_payment_url": portal_url(organization),
        "plan_name": "Plan Pro",
        "charge_date": "1 dic 2026",
        "trial_end_date": "1 dic 2026",
        "next_charge_date": "1 dic 2026",
        "resume_date": "1 dic 2026",
        "end_date": "30 nov 2026",
        "failure_reason": "",
        "card_brand": "Visa",
        "card_last4": "4242",
        "card_expiry": "12/2026",
    }


# -- kinds -----------------------------------------------------------------------------------


def _build_invoice_issued(message) -> Built:
    """The invoice as issued, even when a charge already paid it by the time this is sent:
    the receipt that follows carries the paid copy."""
    from billing.documents.models import DocumentKind

    invoice = _invoice(message)
    return Built(context=_invoice_context(invoice), attachments=_pdf(invoice, DocumentKind.INVOICE))


def _build_payment_receipt(message) -> Built:
    from billing.documents.models import DocumentKind

    invoice = _invoice(message)
    return Built(context=_invoice_context(invoice), attachments=_pdf(invoice, DocumentKind.RECEIPT))


def _build_payment_failed(message) -> Built:
    invoice = _invoice(message)
    context = _invoice_context(invoice)
    context["failure_reason"] = str(message.params.get("failure_reason", ""))[:200]
    return Built(context=context)


def _subscription_context(sub) -> dict:
    fmt = _formatter(sub.customer, sub.currency)
    return {
        **base_context(sub.customer),
        "plan_name": _plan_name(sub),
        "amount": fmt.money(sub.price.amount_minor * sub.quantity),
        "charge_date": fmt.date(sub.next_billing_at),
        "next_charge_date": fmt.date(sub.next_billing_at),
        "trial_end_date": fmt.date(sub.trial_end),
        "resume_date": fmt.date(sub.resume_at),
        "end_date": fmt.date(
            sub.canceled_at if sub.status == "canceled" else sub.current_period_end
        ),
        "update_payment_url": _portal_link(sub.organization, "payment_method"),
    }


def _build_subscription(message) -> Built:
    return Built(context=_subscription_context(_subscription(message)))


def _build_plan_changed(message) -> Built:
    """The plan the customer moved to: for a change at the next period the subscription still
    carries the old price until then, so the new one comes from the event's params."""
    from billing.models import Price

    sub = _subscription(message)
    context = _subscription_context(sub)
    new_price_id = message.params.get("new_price_id")
    if new_price_id and new_price_id != sub.price_id:
        price = (
            Price.unscoped.select_related("product")
            .filter(pk=new_price_id, organization_id=message.organization_id)
            .first()
        )
        if price is not None:
            quantity = int(message.params.get("new_quantity") or sub.quantity)
            name = price.product.name
            context["plan_name"] = f"{name} ({price.nickname})" if price.nickname else name
            context["amount"] = _formatter(sub.customer, price.currency).money(
                price.amount_minor * quantity
            )
    return Built(context=context)


def _build_card_expiring(message) -> Built:
    from customers.models import Customer

    customer = Customer.unscoped.select_related("organization").get(pk=message.customer_id)
    p = message.params
    month, year = p.get("exp_month"), p.get("exp_year")
    return Built(
        context={
            **base_context(customer),
            "card_brand": str(p.get("brand", "")).title(),
            "card_last4": str(p.get("last4", "")),
            "card_expiry": f"{int(month):02d}/{year}" if month and year else "",
            "update_payment_url": _portal_link(customer.organization, "payment_method"),
        }
    )


for key, topic, label, build in [
    ("invoice_issued", Topic.BILLING, _("Invoice issued"), _build_invoice_issued),
    ("payment_receipt", Topic.BILLING, _("Payment receipt"), _build_payment_receipt),
    ("payment_failed", Topic.BILLING, _("Payment failed"), _build_payment_failed),
    ("card_expiring", Topic.BILLING, _("Card expiring"), _build_card_expiring),
    ("upcoming_charge", Topic.REMINDERS, _("Upcoming charge reminder"), _build_subscription),
    ("trial_ending", Topic.REMINDERS, _("Trial ending"), _build_subscription),
    ("subscription_paused", Topic.BILLING, _("Subscription paused"), _build_subscription),
    ("subscription_resumed", Topic.BILLING, _("Subscription resumed"), _build_subscription),
    ("subscription_canceled", Topic.BILLING, _("Subscription canceled"), _build_subscription),
    ("subscription_plan_changed", Topic.BILLING, _("Plan changed"), _build_plan_changed),
]:
    register_kind(
        MessageKind(key=key, topic=topic, label=label, build=build, sample=_sample_invoice)
    )


# -- outbox handlers -------------------------------------------------------------------------


def _customer(customer_id):
    from customers.models import Customer

    return Customer.unscoped.select_related("organization").get(pk=customer_id)


@register_handler("invoice.finalized", name="messaging.invoice_issued")
def on_invoice_finalized(event: OutboxEvent) -> None:
    p = event.payload
    message_queue(
        customer=_customer(p["customer_id"]),
        template_key="invoice_issued",
        params={"invoice_id": p["invoice_id"]},
        dedupe_key=f"invoice_issued:{p['invoice_id']}",
    )


@register_handler("invoice.paid", name="messaging.payment_receipt")
def on_invoice_paid(event: OutboxEvent) -> None:
    from billing.models import Invoice

    p = event.payload
    invoice = Invoice.unscoped.get(pk=p["invoice_id"])
    if invoice.amount_paid_minor <= 0:
        return  # settled by credit alone: nothing was paid, no receipt
    message_queue(
        customer=_customer(p["customer_id"]),
        template_key="payment_receipt",
        params={"invoice_id": p["invoice_id"]},
        dedupe_key=f"payment_receipt:{p['invoice_id']}",
    )


@register_handler("payment.failed", name="messaging.payment_failed")
def on_payment_failed(event: OutboxEvent) -> None:
    p = event.payload
    if not p.get("invoice_id"):
        return
    from billing.models import Invoice

    invoice = Invoice.unscoped.get(pk=p["invoice_id"])
    message_queue(
        customer=_customer(p.get("customer_id") or invoice.customer_id),
        template_key="payment_failed",
        params={
            "invoice_id": invoice.pk,
            "failure_reason": p.get("decline_message") or p.get("decline_code") or "",
        },
        dedupe_key=f"payment_failed:{event.pk}",
    )


@register_handler("payment_method.expiring", name="messaging.card_expiring")
def on_card_expiring(event: OutboxEvent) -> None:
    p = event.payload
    message_queue(
        customer=_customer(p["customer_id"]),
        template_key="card_expiring",
        params={k: p.get(k) for k in ("brand", "last4", "exp_month", "exp_year")},
        dedupe_key=f"card_expiring:{p.get('payment_method_id', event.pk)}:"
        f"{p.get('exp_year')}-{p.get('exp_month')}",
    )


def _subscription_message(event: OutboxEvent, template_key: str, **params) -> None:
    p = event.payload
    message_queue(
        customer=_customer(p["customer_id"]),
        template_key=template_key,
        params={"subscription_id": p["subscription_id"], **params},
        dedupe_key=f"{template_key}:{event.pk}",
    )


@register_handler("subscription.paused", name="messaging.subscription_paused")
def on_subscription_paused(event: OutboxEvent) -> None:
    _subscription_message(event, "subscription_paused")


@register_handler("subscription.resumed", name="messaging.subscription_resumed")
def on_subscription_resumed(event: OutboxEvent) -> None:
    _subscription_message(event, "subscription_resumed")


@register_handler("subscription.canceled", name="messaging.subscription_canceled")
def on_subscription_canceled(event: OutboxEvent) -> None:
    _subscription_message(event, "subscription_canceled")


@register_handler("subscription.updated", name="messaging.subscription_plan_changed")
def on_subscription_updated(event: OutboxEvent) -> None:
    # subscription.updated covers several changes; only a price/quantity change is a "plan
    # changed" email. The billing payload marks it with "change": "plan" (or carries the
    # previous price); without either marker nothing is sent.
    p = event.payload
    previous = p.get("previous_price_id")
    is_plan_change = p.get("change") == "plan" or (
        previous is not None and previous != p.get("price_id")
    )
    if is_plan_change:
        _subscription_message(
            event,
            "subscription_plan_changed",
            new_price_id=p.get("new_price_id") or p.get("price_id"),
            new_quantity=p.get("new_quantity") or p.get("quantity"),
        )


#: A subscription in these states has started: the customer gets the welcome email.
WELCOME_STATUSES = ("active", "trialing")


def _welcome(p: dict) -> None:
    # Once per customer: the dedupe key is a unique database fact.
    message_queue(
        customer=_customer(p["customer_id"]),
        template_key="welcome",
        dedupe_key=f"welcome:{p['customer_id']}",
    )


@register_handler("subscription.created", name="messaging.welcome")
def on_subscription_created(event: OutboxEvent) -> None:
    # An incomplete subscription (a checkout whose first payment has not gone through) is
    # welcomed when it starts (below), never before.
    if event.payload.get("status", "active") in WELCOME_STATUSES:
        _welcome(event.payload)


@register_handler("subscription.updated", name="messaging.welcome_on_start")
def on_subscription_started(event: OutboxEvent) -> None:
    p = event.payload
    if p.get("previous_status") == "incomplete" and p.get("status") in WELCOME_STATUSES:
        _welcome(p)


# -- periodic reminders ----------------------------------------------------------------------

MAX_REMINDER_DAYS = 30


def billing_reminders_queue(*, now=None) -> int:
    """Queue upcoming-charge and trial-ending reminders due now. Idempotent per subscription
    and period (the dedupe key carries the date), so running it hourly is safe."""
    from billing.models import Subscription

    now = now or clock.now()
    horizon = now + timedelta(days=MAX_REMINDER_DAYS)
    queued = 0
    upcoming = Subscription.unscoped.select_related("organization", "customer").filter(
        status="active",
        collection_method="charge_automatically",
        cancel_at_period_end=False,
        next_billing_at__gt=now,
        next_billing_at__lte=horizon,
    )
    for sub in upcoming.iterator():
        days = messaging_settings_for(sub.organization).upcoming_charge_days
        if days and sub.next_billing_at <= now + timedelta(days=days):
            message_queue(
                customer=sub.customer,
                template_key="upcoming_charge",
                params={"subscription_id": sub.pk},
                dedupe_key=f"upcoming_charge:{sub.pk}:{sub.next_billing_at:%Y%m%d%H%M}",
            )
            queued += 1
    trials = Subscription.unscoped.select_related("organization", "customer").filter(
        status="trialing", trial_end__gt=now, trial_end__lte=horizon
    )
    for sub in trials.iterator():
        days = messaging_settings_for(sub.organization).trial_ending_days
        if days and sub.trial_end <= now + timedelta(days=days):
            message_queue(
                customer=sub.customer,
                template_key="trial_ending",
                params={"subscription_id": sub.pk},
                dedupe_key=f"trial_ending:{sub.pk}:{sub.trial_end:%Y%m%d%H%M}",
            )
            queued += 1
    queued += _card_expiring_queue(now=now)
    return queued


def _card_expiring_queue(*, now) -> int:
    """Cards expiring by the end of next month: one email per card and expiry date."""
    try:
        from billing.payments.services.methods import payment_methods_expiring
    except ImportError:  # payments not installed
        return 0
    from cobro.models import Organization

    queued = 0
    orgs = Organization.objects.filter(pk__in=_live_subscription_org_ids())
    for org in orgs.iterator():
        methods = payment_methods_expiring(organization=org, now=now, months=1).select_related(
            "customer", "customer__organization"
        )
        for method in methods.filter(is_default=True):
            message_queue(
                customer=method.customer,
                template_key="card_expiring",
                params={
                    "brand": method.brand,
                    "last4": method.last4,
                    "exp_month": method.exp_month,
                    "exp_year": method.exp_year,
                },
                dedupe_key=f"card_expiring:{method.pk}:{method.exp_year}-{method.exp_month}",
            )
            queued += 1
    return queued


def _live_subscription_org_ids():
    from billing.models import Subscription

    return (
        Subscription.unscoped.filter(status__in=["active", "trialing", "past_due"])
        .values_list("organization_id", flat=True)
        .distinct()
    )


# -- announcement segments -------------------------------------------------------------------


def _plan_segment_choices(organization):
    from billing.models import Price

    prices = Price.unscoped.filter(organization=organization, active=True).select_related("product")
    return [
        (
            f"price:{p.pk}",
            _("Active subscribers of %(plan)s")
            % {"plan": f"{p.product.name}{' · ' + p.nickname if p.nickname else ''}"},
        )
        for p in prices
    ]


def _plan_segment_resolve(organization, key: str):
    from customers.models import Customer

    if not key.startswith("price:"):
        return None
    price_id = int(key.partition(":")[2])
    return Customer.unscoped.filter(
        organization=organization,
        subscriptions__price_id=price_id,
        subscriptions__status__in=["active", "trialing", "past_due"],
    ).distinct()


register_segments(_plan_segment_choices, _plan_segment_resolve)
