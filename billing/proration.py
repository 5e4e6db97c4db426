"""Proration rule (pure, no database).

The unused (or remaining) share of a period at instant ``at`` is the exact ``Fraction``
``seconds remaining / seconds in the full period`` (microsecond resolution, no floats), clamped
to [0, 1]. A prorated line is ``amount * fraction`` rounded ONCE, half away from zero
(``cobro.money.round_half_up``). A credit for the old price and a charge for the new one are
two separate lines, each rounded once; neither is ever negative (before its sign) nor more
than the full-period amount.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from cobro.money import round_half_up

_US = timedelta(microseconds=1)


def remaining_fraction(
    *, at: datetime, period_end: datetime, full_start: datetime, full_end: datetime
) -> Fraction:
    """Share of the full period ``[full_start, full_end)`` between ``at`` and ``period_end``."""
    total = (full_end - full_start) // _US
    if total <= 0:
        raise ValueError("empty period")
    remaining = (period_end - at) // _US
    return Fraction(max(0, min(remaining, total)), total)


def prorate(amount_minor: int, fraction: Fraction) -> int:
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be within [0, 1]")
    return round_half_up(Fraction(amount_minor) * fraction)
