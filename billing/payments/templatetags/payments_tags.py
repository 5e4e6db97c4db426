"""Template helpers of the payments pages."""

from __future__ import annotations

from django import template

register = template.Library()

_BADGES = {
    "succeeded": "badge-success",
    "failed": "badge-danger",
    "unknown": "badge-warning",
    "pending": "badge-brand",
    "refunded": "badge-muted",
    "partially_refunded": "badge-warning",
}


@register.filter
def payment_badge(status: str) -> str:
    """A badge modifier per attempt or refund status, so colours tell states apart."""
    return _BADGES.get(str(status), "")
