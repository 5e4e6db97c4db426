from __future__ import annotations

from django import template
from django.utils.translation import get_language

from customers.validation import country_name as _country_name

register = template.Library()


@register.filter
def country_name(code: str) -> str:
    """The country's name in the active language (``CL`` -> ``Chile``)."""
    return _country_name(code, get_language() or "es") if code else ""


@register.filter
def locale_name(code: str) -> str:
    from customers.forms import LOCALE_CHOICES

    return str(dict(LOCALE_CHOICES).get(code, code))
