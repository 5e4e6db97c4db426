"""The clock billing reads: frozen in tests, a sandbox organization's test clock, else UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cobro import clock
from tests.factories import OrganizationFactory

T0 = datetime(2026, 1, 31, 3, 30, tzinfo=UTC)


def test_wall_clock_is_aware_utc():
    with time_machine.travel(T0, tick=False):
        assert clock.now() == T0
        assert clock.now().utcoffset() == timedelta(0)


def test_frozen_clock_wins_and_is_restored():
    with clock.frozen(T0):
        assert clock.now() == T0
        with clock.frozen(T0 + timedelta(days=1)):
            assert clock.now() == T0 + timedelta(days=1)
        assert clock.now() == T0
    assert clock.now() != T0


def test_frozen_clock_refuses_naive_datetimes():
    with pytest.raises(ValueError), clock.frozen(datetime(2026, 1, 1)):  # noqa: DTZ001
        pass


def test_frozen_clock_normalises_to_utc():
    santiago = datetime(2026, 1, 31, 0, 30, tzinfo=ZoneInfo("America/Santiago"))
    with clock.frozen(santiago):
        assert clock.now() == T0
        assert clock.now().tzinfo == UTC


@pytest.mark.django_db
def test_sandbox_organization_runs_on_its_test_clock():
    sandbox = OrganizationFactory(is_sandbox=True, test_clock_at=T0)
    live = OrganizationFactory(is_sandbox=False, test_clock_at=T0)
    assert clock.now(sandbox) == T0
    assert clock.now(live) != T0  # only sandboxes may move time
    sandbox.test_clock_at = T0 + timedelta(days=30)
    assert clock.now(sandbox) == T0 + timedelta(days=30)


@pytest.mark.django_db
def test_local_now_is_in_the_organization_time_zone():
    org = OrganizationFactory(is_sandbox=True, test_clock_at=T0, time_zone="America/Santiago")
    local = clock.local_now(org)
    assert local == T0
    assert (local.year, local.month, local.day, local.hour) == (2026, 1, 31, 0)  # UTC-3 in summer
