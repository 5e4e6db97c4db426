"""Extension points of the portal for higher apps (loyalty fills them).

- ``portal_nav_register``: a navigation entry; it appears only while its URL name reverses
  (with ``org_slug``), so an app that is not there yet shows nothing.
- ``portal_panel_register``: a template included on a page (slot ``"overview"``), rendered
  with the page's context (``organization``, ``customer``, ``portal_url_kwargs``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class PortalNavEntry:
    key: str
    label: str | Promise
    url_name: str
    order: int = 100
    icon: str = ""


@dataclass(frozen=True)
class PortalPanel:
    key: str
    template: str
    slot: str = "overview"
    order: int = 100


_nav: dict[str, PortalNavEntry] = {}
_panels: dict[str, PortalPanel] = {}


def portal_nav_register(**kwargs) -> PortalNavEntry:
    entry = PortalNavEntry(**kwargs)
    _nav[entry.key] = entry
    return entry


def portal_panel_register(**kwargs) -> PortalPanel:
    panel = PortalPanel(**kwargs)
    _panels[panel.key] = panel
    return panel


def portal_nav_entries(*, org_slug: str, current: str = "") -> list[dict]:
    items = []
    for entry in sorted(_nav.values(), key=lambda e: (e.order, e.key)):
        try:
            url = reverse(entry.url_name, kwargs={"org_slug": org_slug})
        except NoReverseMatch:
            continue
        items.append(
            {
                "key": entry.key,
                "label": entry.label,
                "url": url,
                "icon": entry.icon,
                "active": entry.key == current,
            }
        )
    return items


def portal_panels(slot: str) -> list[str]:
    return [
        p.template
        for p in sorted(_panels.values(), key=lambda p: (p.order, p.key))
        if p.slot == slot
    ]
