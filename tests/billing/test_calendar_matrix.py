"""36 simulated months through the real renewal service: every anchor day 28-31 and a Feb 29
start, in five time zones (DST north and south, no DST, +13:45): periods chain with no gap and
no overlap, each is billed exactly once, and boundaries fall on the anchor day at local
midnight."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.models import Invoice
from billing.services.subscriptions import subscription_create, subscription_renew
from tests.billing.factories import CustomerFactory, PriceFactory

ZONES = ["UTC", "America/Santiago", "America/Sao_Paulo", "America/Los_Angeles", "Pacific/Chatham"]
STARTS = [date(2024, 1, 28), date(2024, 1, 29), date(2024, 1, 30), date(2024, 1, 31)]
STARTS += [date(2024, 2, 29)]


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("start", STARTS, ids=str)
def test_36_months_no_gap_no_overlap_no_double_billing(in_org, org, zone, start):
    org.time_zone = zone
    org.save()
    tz = ZoneInfo(zone)
    customer = CustomerFactory(organization=org)
    price = PriceFactory(organization=org, amount_minor=30_000)
    start_at = datetime(start.year, start.month, start.day, 10, 0, tzinfo=tz)
    sub = subscription_create(customer=customer, price=price, now=start_at)
    now = start_at
    for _ in range(36):
        sub.refresh_from_db()
        now = sub.next_billing_at + timedelta(hours=1)  # the clock moves past each boundary
        assert subscription_renew(subscription=sub, now=now) is not None
        # A second run at the same instant is a no-op.
        assert subscription_renew(subscription=sub, now=now) is None

    invoices = list(Invoice.objects.filter(subscription=sub).order_by("period_start"))
    assert len(invoices) == 37
    assert len({i.period_start for i in invoices}) == 37
    for prev, nxt in zip(invoices, invoices[1:], strict=False):
        assert prev.period_end == nxt.period_start  # no gap, no overlap
    for inv in invoices:
        local = inv.period_start.astimezone(tz)
        assert (local.hour, local.minute) == (0, 0) or local.hour == 1  # Chile: 00:00 may skip
        month_len = (date(local.year, local.month, 28) + timedelta(days=4)).replace(day=1)
        last_day = (month_len - timedelta(days=1)).day
        assert local.day == min(start.day, last_day)
        assert inv.total_minor == 30_000  # every period is a full month
    assert [i.sequence_number for i in invoices] == list(range(1, 38))
