"""Test clocks: a sandbox organization advances its clock and sees a year of billing at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.error_codes import BillingError, BillingErrorCode
from billing.models import Invoice
from billing.services import test_clock
from billing.services.subscriptions import subscription_create
from cobro.models import AuditEntry
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, PriceFactory
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 31, 15, 0, tzinfo=UTC)  # Jan 31, noon in Santiago


@pytest.fixture
def sandbox():
    return OrganizationFactory(slug="sandbox", is_sandbox=True, test_clock_at=T0)


def test_advancing_twelve_months_bills_twelve_periods_in_order(sandbox):
    with use_organization(sandbox):
        price = PriceFactory(organization=sandbox, amount_minor=15_000)
        sub = subscription_create(customer=CustomerFactory(organization=sandbox), price=price)
    assert sub.started_at == T0  # created on the test clock
    actor = UserFactory()

    result = test_clock.test_clock_advance(
        organization=sandbox, to=T0 + timedelta(days=365), actor=actor
    )

    assert result.invoices == 12
    assert result.previous == T0 and result.current == T0 + timedelta(days=365)
    invoices = list(Invoice.unscoped.filter(subscription=sub).order_by("period_start"))
    assert len(invoices) == 13  # the first one at creation, then twelve renewals
    tz = ZoneInfo(sandbox.time_zone)
    starts = [inv.period_start.astimezone(tz).date().isoformat() for inv in invoices]
    assert starts == [
        "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30",
        "2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30", "2025-12-31",
        "2026-01-31",
    ]  # fmt: skip
    for prev, nxt in zip(invoices, invoices[1:], strict=False):
        assert nxt.period_start == prev.period_end
        # Each renewal is issued when its period began on the test clock, not all at the end.
        assert nxt.issued_at == nxt.period_start
    assert [inv.number for inv in invoices][-1] == "F-000013"
    sandbox.refresh_from_db()
    assert sandbox.test_clock_at == T0 + timedelta(days=365)
    entry = AuditEntry.unscoped.get(organization=sandbox, action="billing.test_clock_advanced")
    assert entry.actor == actor

    # Advancing a little more bills nothing new until the next period.
    again = test_clock.test_clock_advance(
        organization=sandbox, to=T0 + timedelta(days=366), actor=actor
    )
    assert again.invoices == 0


def test_the_test_clock_never_moves_backwards(sandbox):
    with pytest.raises(BillingError) as err:
        test_clock.test_clock_advance(organization=sandbox, to=T0 - timedelta(days=1), actor=None)
    assert err.value.code == BillingErrorCode.INVALID_DATE
    sandbox.refresh_from_db()
    assert sandbox.test_clock_at == T0


def test_a_real_organization_has_no_test_clock(org):
    with use_organization(org):
        price = PriceFactory(organization=org)
        sub = subscription_create(customer=CustomerFactory(organization=org), price=price, now=T0)
    with pytest.raises(BillingError) as err:
        test_clock.test_clock_advance(organization=org, to=T0 + timedelta(days=400), actor=None)
    assert err.value.code == BillingErrorCode.INVALID_TRANSITION
    org.refresh_from_db()
    assert org.test_clock_at is None
    assert Invoice.unscoped.filter(subscription=sub).count() == 1
