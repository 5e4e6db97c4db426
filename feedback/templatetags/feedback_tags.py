"""Template tags of feedback: the churn-risk panel of the staff customer page."""

from __future__ import annotations

from django import template

from feedback.models import SurveyResponse
from feedback.risk import churn_risk

register = template.Library()


@register.simple_tag
def customer_feedback(customer) -> dict:
    """The customer's churn risk and latest survey answers (the customer is already scoped to
    the current organization by the page that shows it)."""
    latest = SurveyResponse.unscoped.filter(
        organization_id=customer.organization_id, customer=customer
    ).order_by("-created_at", "-pk")[:3]
    return {"risk": churn_risk(customer), "latest": list(latest)}
