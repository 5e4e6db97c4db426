"""Template helpers of the staff list pages: sortable column headers and the export link,
both carrying the current filters."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


def _query(request, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_th(context, key: str, label: str, css: str = "") -> str:
    """A ``<th>`` whose link sorts by ``key`` (ascending first, then descending), with
    ``aria-sort`` telling screen readers the current order."""
    request = context["request"]
    form = context.get("form")
    current = form.filters().get("sort") if form is not None else ""
    if current == key:
        target, state, mark = f"-{key}", "ascending", " ▲"
    elif current == f"-{key}":
        target, state, mark = key, "descending", " ▼"
    else:
        target, state, mark = (key if not key.startswith("-") else key[1:]), "", ""
    title = _("Sort by %(column)s") % {"column": label}
    aria = format_html(' aria-sort="{}"', state) if state else ""
    return format_html(
        '<th scope="col" class="{}"{}><a href="{}" title="{}">{}{}</a></th>',
        css,
        aria,
        _query(request, sort=target, page=None),
        title,
        label,
        mark,
    )


@register.simple_tag(takes_context=True)
def export_url(context, url_name: str) -> str:
    """The export URL with the list's current filters and sort (without the page)."""
    request = context["request"]
    query = _query(request, page=None)
    return reverse(url_name) + (query if query != "?" else "")


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    return _query(context["request"], page=number)
