"""The current organization: the one tenant every scoped query runs for.

Set by exactly three doors: the staff middleware (membership), the API authentication (API
key) and the portal session. Tasks set it from the organization id they receive. Anything that
crosses tenants on purpose does so through ``unscoped()`` managers, which a reviewer can grep.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cobro.models import Organization

_current: ContextVar[Organization | None] = ContextVar("cobro_current_organization", default=None)


class NoCurrentOrganization(RuntimeError):
    """A tenant-scoped query ran without a current organization."""


def get_current_organization() -> Organization | None:
    return _current.get()


def require_current_organization() -> Organization:
    org = _current.get()
    if org is None:
        raise NoCurrentOrganization(
            "No current organization: set one with use_organization() or query through "
            "Model.unscoped on purpose."
        )
    return org


def set_current_organization(org: Organization | None):  # returns a contextvars Token
    return _current.set(org)


def reset_current_organization(token) -> None:
    _current.reset(token)


@contextmanager
def use_organization(org: Organization | None) -> Iterator[Organization | None]:
    token = _current.set(org)
    try:
        yield org
    finally:
        _current.reset(token)
