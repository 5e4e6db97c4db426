"""Billing calendar: period boundaries in the organization's time zone. Pure, no database.

Rule. A subscription remembers ``anchor_date`` (the local date of boundary 0) and
``anchor_day`` (1-31). Boundary ``k`` is computed from boundary 0 directly, never by chaining,
so a short month does not shift later periods:

* month/year intervals: ``anchor_date + k*count months (years)`` with the day set to
  ``anchor_day`` and clamped to the month's last day (Jan 31 -> Feb 28/29 -> Mar 31;
  a Feb 29 yearly anchor gives Feb 28 in common years and Feb 29 in leap years);
* day/week intervals: ``anchor_date + k*count days (weeks)`` (``anchor_day`` is unused).

Every boundary is the *start of the local day* in the organization's zone, converted to aware
UTC. Where local midnight does not exist (DST starting at 00:00, as in Chile) the start of the
day is the first existing instant, which is what ``fold=0`` gives with ``zoneinfo``. Periods
are half-open ``[start, end)``: the end of one is exactly the start of the next, so there is no
gap and no overlap whatever the DST changes in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

INTERVALS = ("day", "week", "month", "year")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Everything needed to compute a subscription's boundaries."""

    anchor_date: date
    anchor_day: int
    interval: str
    interval_count: int
    time_zone: str

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(f"unknown interval {self.interval!r}")
        if not 1 <= self.anchor_day <= 31:
            raise ValueError("anchor_day must be between 1 and 31")
        if self.interval_count < 1:
            raise ValueError("interval_count must be at least 1")


def boundary_date(schedule: Schedule, k: int) -> date:
    """Local date of boundary ``k`` (may be negative)."""
    n = k * schedule.interval_count
    a = schedule.anchor_date
    if schedule.interval == "day":
        return a + timedelta(days=n)
    if schedule.interval == "week":
        return a + timedelta(weeks=n)
    if schedule.interval == "month":
        return a + relativedelta(months=n, day=schedule.anchor_day)
    return a + relativedelta(years=n, day=schedule.anchor_day)


def local_midnight(d: date, time_zone: str) -> datetime:
    """Start of local day ``d`` in ``time_zone`` as an aware UTC datetime."""
    return datetime.combine(d, time(0), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


@lru_cache(maxsize=65_536)
def boundary(schedule: Schedule, k: int) -> datetime:
    # Pure and hot (the billing run asks for the same boundaries of shared schedules many
    # times per batch), so it is memoized; Schedule is a frozen, hashable value.
    return local_midnight(boundary_date(schedule, k), schedule.time_zone)


def local_date(instant: datetime, time_zone: str) -> date:
    return instant.astimezone(ZoneInfo(time_zone)).date()


def first_anchor_date(start: date, anchor_day: int, interval: str) -> date:
    """The first date on or after ``start`` whose day is ``anchor_day`` (clamped to the month
    end), for month/year intervals; ``start`` itself for day/week intervals."""
    if interval in ("day", "week"):
        return start
    candidate = start + relativedelta(day=anchor_day)
    if candidate < start:
        candidate = start + relativedelta(months=1, day=anchor_day)
    return candidate


def period_bounds(
    schedule: Schedule, index: int, started_at: datetime | None = None
) -> tuple[datetime, datetime]:
    """``[start, end)`` of period ``index``. Index -1 is the stub from ``started_at`` to
    boundary 0 (a start date before the first anchor date)."""
    if index == -1:
        if started_at is None:
            raise ValueError("the stub period needs started_at")
        return started_at, boundary(schedule, 0)
    return boundary(schedule, index), boundary(schedule, index + 1)


def full_period_bounds(schedule: Schedule, index: int) -> tuple[datetime, datetime]:
    """Bounds of the full-length period ``index`` (for the stub, the full period it belongs
    to: ``[boundary(-1), boundary(0))``); used to prorate a stub."""
    return boundary(schedule, index), boundary(schedule, index + 1)


def boundary_index_after(schedule: Schedule, instant: datetime) -> int:
    """The smallest ``k`` with ``boundary(schedule, k) > instant``."""
    d = local_date(instant, schedule.time_zone)
    a = schedule.anchor_date
    c = schedule.interval_count
    if schedule.interval == "day":
        k = (d - a).days // c
    elif schedule.interval == "week":
        k = (d - a).days // (7 * c)
    elif schedule.interval == "month":
        k = ((d.year - a.year) * 12 + d.month - a.month) // c
    else:
        k = (d.year - a.year) // c
    k -= 2
    while boundary(schedule, k) <= instant:
        k += 1
    while k > -(10**6) and boundary(schedule, k - 1) > instant:
        k -= 1
    return k


def enclosing_full_period(schedule: Schedule, end: datetime) -> tuple[datetime, datetime]:
    """The full-length period whose end is the first boundary at or after ``end``."""
    k = boundary_index_after(schedule, end - timedelta(microseconds=1))
    return boundary(schedule, k - 1), boundary(schedule, k)
