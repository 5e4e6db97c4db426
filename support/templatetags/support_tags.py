"""Template helpers of support: a quick action's entry put in words (in the reader's
language), and the status badge class."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import formats
from django.utils.translation import gettext as _

from billing.views.common import format_amount

register = template.Library()


@register.simple_tag(takes_context=True)
def event_text(context, entry) -> str:
    p = entry.params or {}
    org = context.get("organization")
    if entry.event == "credit_applied":
        return _("A credit of %(amount)s was added to your account.") % {
            "amount": format_amount(p.get("amount_minor"), p.get("currency", ""), org)
        }
    if entry.event == "invoice_resent":
        return _("Invoice %(number)s was emailed to you again.") % {"number": p.get("number")}
    if entry.event == "payment_retried":
        if p.get("succeeded"):
            return _("Invoice %(number)s was charged to your payment method.") % {
                "number": p.get("number")
            }
        return _("We tried to charge invoice %(number)s; the payment did not go through.") % {
            "number": p.get("number")
        }
    if entry.event == "subscription_paused":
        if p.get("resume_at"):
            when = datetime.fromisoformat(p["resume_at"])
            return _("Your subscription was paused until %(date)s.") % {
                "date": formats.date_format(when, "DATE_FORMAT")
            }
        return _("Your subscription was paused.")
    return ""


@register.filter
def conversation_badge(status: str) -> str:
    return {"open": "badge-brand", "waiting": "badge-warning", "resolved": "badge-success"}.get(
        status, "badge-muted"
    )
