"""The dashboard's navigation, contributed by each app (the shell never imports apps).

Apps register entries in their ``AppConfig.ready()``::

    nav_register(key="customers", label=_("Customers"), url_name="customers:list",
                 permission="view", order=20, icon="users")
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: str | Promise
    url_name: str
    permission: str = "view"
    order: int = 100
    icon: str = ""
    section: str = "main"  # "main" or "settings"


_entries: dict[str, NavEntry] = {}


def nav_register(**kwargs) -> NavEntry:
    entry = NavEntry(**kwargs)
    _entries[entry.key] = entry
    return entry


def nav_entries_for(membership, section: str = "main") -> list[dict]:
    """Entries the member may see, in order, with their resolved URL."""
    items = []
    for entry in sorted(_entries.values(), key=lambda e: (e.order, e.key)):
        if entry.section != section:
            continue
        if membership is None or not membership.has_perm(entry.permission):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        items.append({"key": entry.key, "label": entry.label, "url": url, "icon": entry.icon})
    return items
