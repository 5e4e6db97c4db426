"""Test clocks: a sandbox organization's billing runs on ``Organization.test_clock_at``
instead of the wall clock, and staff move it forward to watch months of billing happen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils.translation import gettext as _

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import Subscription
from billing.services.billing_run import RunStats, billing_run_chunk
from cobro import clock
from cobro.models import Organization
from cobro.services.audit import audit_record

# One advance runs at most this many billing steps (distinct due instants; a daily price over
# ten years is 3,650). A longer jump stops at the last billed instant and says so (``current``).
MAX_STEPS = 5_000


@dataclass(frozen=True)
class TestClockAdvance:
    """The outcome of an advance: where the clock was and is, how many distinct due instants
    were billed (``steps``), and what the run did."""

    __test__ = False  # not a pytest test class

    previous: datetime
    current: datetime
    steps: int
    invoices: int
    subscriptions: int


def test_clock_advance(
    *,
    organization: Organization,
    to: datetime,
    actor: Any,
    on_step: Callable[[datetime, RunStats], None] | None = None,
) -> TestClockAdvance:
    """Move ``organization``'s test clock forward to ``to`` and run its billing period by
    period on the way, synchronously: at each instant where something is due (oldest first)
    the clock stops there and the billing run renews what is due, so invoices carry the date
    they would have had and a year of billing takes seconds.

    Refuses a non-sandbox organization and a move backwards (or to the same instant). Each
    step commits on its own: an interrupted advance leaves the clock at the last billed
    instant, never ahead of the billing, and running it again finishes the job.

    ``on_step(at, stats)`` is called after each step commits, with the instant billed and
    what that step did (the background advance reports its progress with it).
    """
    if not organization.is_sandbox:
        raise BillingError(
            BillingErrorCode.INVALID_TRANSITION,
            message=_("Only sandbox organizations have a test clock."),
        )
    if to.tzinfo is None:
        raise BillingError(BillingErrorCode.INVALID_DATE)
    org = Organization.objects.get(pk=organization.pk)
    previous = clock.now(org)
    if to <= previous:
        raise BillingError(
            BillingErrorCode.INVALID_DATE,
            message=_("The test clock only moves forward."),
        )
    stats = RunStats()
    steps = 0
    at: datetime | None = None
    while True:
        due = Subscription.unscoped.filter(
            organization_id=org.pk, next_billing_at__isnull=False, next_billing_at__lte=to
        )
        if at is not None:
            # Strictly later than the last step: a subscription that could not renew at an
            # earlier instant (another worker held it, or it is not renewable) is not retried
            # at every step.
            due = due.filter(next_billing_at__gt=at)
        first_due = due.aggregate(at=Min("next_billing_at"))["at"]
        if first_due is None:
            break
        if steps == MAX_STEPS:
            to = at or previous  # stop here; the clock never runs ahead of its billing
            break
        steps += 1
        at = max(first_due, previous)
        _set_clock(org, at)
        step = billing_run_chunk(organization_id=org.pk, id_from=0, id_to=2**62, now=at)
        stats.add(step)
        if on_step is not None:
            on_step(at, step)
    with transaction.atomic():
        _set_clock(org, to)
        audit_record(
            organization=org,
            actor=actor,
            action="billing.test_clock_advanced",
            target=org,
            changes={"test_clock_at": [previous.isoformat(), to.isoformat()]},
        )
    return TestClockAdvance(
        previous=previous,
        current=to,
        steps=steps,
        invoices=stats.invoices,
        subscriptions=stats.subscriptions,
    )


def _set_clock(org: Organization, at: datetime) -> None:
    """Move the stored clock to ``at`` unless it is already later (never backwards, even if
    two advances overlap)."""
    Organization.objects.filter(pk=org.pk).filter(
        Q(test_clock_at__isnull=True) | Q(test_clock_at__lt=at)
    ).update(test_clock_at=at)
    org.test_clock_at = at


# The name starts with "test_": keep pytest from collecting it where tests import it.
test_clock_advance.__test__ = False  # type: ignore[attr-defined]
