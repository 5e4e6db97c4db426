from __future__ import annotations

from django import template

from loyalty.selectors import customer_standing
from loyalty.services.programme import programme_active

register = template.Library()


@register.simple_tag
def loyalty_standing(customer):
    """The customer's standing, or None when the programme is off (the panel hides)."""
    if customer is None or programme_active(customer.organization) is None:
        return None
    return customer_standing(customer=customer)
