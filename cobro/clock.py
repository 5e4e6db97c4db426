"""The clock billing code reads instead of calling ``now()``.

Three sources, most specific first:
1. an override installed with ``frozen(dt)`` (tests, the plan simulator);
2. the organization's test clock (a sandbox organization's ``test_clock_at``);
3. the wall clock (``django.utils.timezone.now``), always timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils import timezone

if TYPE_CHECKING:
    from cobro.models import Organization

_override: ContextVar[datetime | None] = ContextVar("cobro_clock_override", default=None)


def now(organization: Organization | None = None) -> datetime:
    """Current instant (aware, UTC) as billing for ``organization`` should see it."""
    override = _override.get()
    if override is not None:
        return override
    if organization is not None and organization.is_sandbox and organization.test_clock_at:
        return organization.test_clock_at.astimezone(UTC)
    return timezone.now()


def local_now(organization: Organization) -> datetime:
    """``now()`` in the organization's time zone."""
    return now(organization).astimezone(ZoneInfo(organization.time_zone))


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Freeze the clock for everything in this context (tests, simulations)."""
    if at.tzinfo is None:
        raise ValueError("clock.frozen needs an aware datetime")
    token = _override.set(at.astimezone(UTC))
    try:
        yield at
    finally:
        _override.reset(token)
