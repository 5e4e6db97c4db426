"""Template helpers of the billing pages: amounts in the organization's locale."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import pgettext

from billing.views.common import format_amount

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, amount_minor, currency) -> str:
    """``{% money invoice.total_minor invoice.currency %}`` -> "$12.990" for a Chilean org."""
    return format_amount(amount_minor, currency, context.get("organization"))


@register.simple_tag(takes_context=True)
def neg_money(context, amount_minor, currency) -> str:
    """The amount shown as a deduction ("−$1.000")."""
    return format_amount(-int(amount_minor or 0), currency, context.get("organization"))


@register.filter
def status_class(status: str) -> str:
    """A badge modifier per status, so colours can tell states apart."""
    return {
        "active": "badge-success",
        "paid": "badge-success",
        "trialing": "badge-brand",
        "open": "badge-brand",
        "past_due": "badge-warning",
        "unpaid": "badge-danger",
        "uncollectible": "badge-danger",
        "paused": "badge-muted",
        "draft": "badge-muted",
        "canceled": "badge-muted",
        "void": "badge-muted",
        "incomplete": "badge-warning",
    }.get(str(status), "")


@register.filter
def last_day(value):
    """The last instant inside an end-exclusive period, for showing "1/3 – 31/3" rather than
    "1/3 – 1/4" (the end of a billing period is the start of the next)."""
    if value is None:
        return None
    return value - timedelta(microseconds=1)


@register.filter
def sub_status(subscription) -> str:
    """The subscription's status label; "active" has its own context because the word's
    gender differs between languages (una suscripción activa, un producto activo)."""
    if subscription.status == "active":
        return pgettext("subscription status", "active")
    return subscription.get_status_display()
