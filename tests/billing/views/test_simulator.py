"""The plan simulator: a year of invoices through the real billing code, written nowhere.

The strongest check: the simulation of a year (coupon, IVA, anchor-day stub, a mid-year
upgrade with proration, a downgrade credit) equals, document by document, what the real
services then issue when the same year is actually run with a frozen clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.urls import reverse

from billing import calendar
from billing.models import Invoice
from billing.planning import CouponInfo, PriceInfo
from billing.services.catalog import price_create
from billing.services.credit import customer_credit_balance
from billing.services.subscriptions import (
    subscription_change,
    subscription_create,
    subscription_renew,
    subscription_snapshot,
)
from billing.simulation import PlannedChange, simulate_price, simulate_subscription
from cobro import clock
from cobro.tenancy.context import use_organization

pytestmark = pytest.mark.django_db

TZ = "America/Santiago"


def _midnight(d: date) -> datetime:
    return calendar.local_midnight(d, TZ)


def _row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from the catalog
            counts[table] = cur.fetchone()[0]
    return counts


def _real_year(org, catalog, *, start: datetime, until: datetime, change_at, new_price):
    """Run the same year through the real services: create, renew, change, renew."""
    sub = subscription_create(
        customer=catalog["customer"],
        price=catalog["price"],
        quantity=2,
        coupon=catalog["coupon"],
        anchor_day=1,
        start_at=start,
        now=start,
    )
    changed = False
    while True:
        sub.refresh_from_db()
        when = sub.next_billing_at
        if not changed and change_at < when:
            subscription_change(subscription=sub, price=new_price, now=change_at)
            changed = True
            continue
        if when >= until:
            break
        subscription_renew(subscription=sub, now=when)
    return sub


def test_a_simulated_year_equals_the_year_the_real_services_bill(org, catalog):
    """Plan Pro x2 with IVA 19% added and a 10% first-period coupon, billed on the 1st from
    Jan 15 (a stub), upgraded to Premium on Jun 10 with proration."""
    start, until = _midnight(date(2025, 1, 15)), _midnight(date(2026, 1, 15))
    change_at = _midnight(date(2025, 6, 10))
    with use_organization(org):
        price, premium = catalog["price"], catalog["premium"]
        simulation = simulate_price(
            price=PriceInfo.from_model(price),
            quantity=2,
            time_zone=TZ,
            start_at=start,
            until=until,
            trial_days=0,
            anchor_day=1,
            coupon=CouponInfo.from_model(catalog["coupon"]),
            change=PlannedChange(at=change_at, price=PriceInfo.from_model(premium), quantity=2),
        )
        _real_year(org, catalog, start=start, until=until, change_at=change_at, new_price=premium)
        real = list(Invoice.objects.order_by("issued_at", "pk"))

    sim = simulation.invoices
    # Stub + Feb..Dec + Jan 1 renewal = 13 cycle invoices, plus the upgrade's proration.
    assert len(sim) == 14
    assert [d.reason for d in sim].count("subscription_update") == 1
    assert [
        (d.period_start, d.period_end, d.document.total_minor, d.document.tax_minor) for d in sim
    ] == [(i.period_start, i.period_end, i.total_minor, i.tax_minor) for i in real]
    assert [d.document.discount_minor for d in sim] == [i.discount_minor for i in real]
    # The coupon discounted the first invoice only (10% of the stub, once).
    assert sim[0].document.discount_minor > 0
    assert all(d.document.discount_minor == 0 for d in sim[1:])
    # Lines sum to the total in every simulated document.
    for d in sim:
        doc = d.document
        assert sum(ln.amount_minor for ln in doc.lines) + doc.exclusive_tax_minor == doc.total_minor
    assert simulation.total_minor == sum(i.total_minor for i in real)


def test_a_downgrade_mid_year_credits_the_balance_and_the_next_invoices_use_it(org, catalog):
    start, until = _midnight(date(2025, 3, 1)), _midnight(date(2026, 3, 1))
    with use_organization(org):
        sub = subscription_create(
            customer=catalog["customer"], price=catalog["premium"], start_at=start, now=start
        )
        sub.refresh_from_db()
        simulation = simulate_subscription(
            subscription_snapshot(sub),
            now=start,
            until=until,
            change=PlannedChange(
                at=_midnight(date(2025, 3, 16)),
                price=PriceInfo.from_model(catalog["price"]),
                quantity=1,
            ),
        )
    credits = [d for d in simulation.documents if not d.is_invoice]
    assert len(credits) == 1
    credit = credits[0].credited_minor
    # Half of March on premium returned, half of March on Mensual (+IVA) charged.
    assert credit > 0
    following = simulation.invoices[0]
    assert following.document.credit_applied_minor == min(credit, following.document.total_minor)
    assert simulation.closing_balance_minor == credit - simulation.credit_applied_minor


def test_price_page_simulates_a_year_and_writes_nothing(owner_client, org, catalog):
    url = reverse("billing:price_simulator", args=[catalog["price"].pk])
    before = _row_counts()
    response = owner_client.get(
        url,
        {
            "quantity": "2",
            "start_on": "2025-01-15",
            "anchor_day": "1",
            "coupon": catalog["coupon"].pk,
            "months": "12",
            "change_on": "2025-06-10",
            "change_price": catalog["premium"].pk,
            "change_when": "now",
        },
    )
    assert response.status_code == 200
    assert _row_counts() == before
    html = response.content.decode()
    sim = response.context["simulation"]
    assert len(sim.invoices) == 14
    assert "Cambio de plan (prorrateo)" in html
    assert "IVA 19%" in html
    assert "Bienvenida" in html


def test_subscription_page_simulates_from_the_test_clock_and_writes_nothing(
    owner_client, org, sub, catalog
):
    url = reverse("billing:subscription_simulator", args=[sub.pk])
    detail = owner_client.get(reverse("billing:subscription_detail", args=[sub.pk]))
    assert url in detail.content.decode()
    before = _row_counts()
    response = owner_client.get(url)  # default: the next 12 months
    assert response.status_code == 200
    with_change = owner_client.get(
        url,
        {
            "months": "12",
            "change_on": clock.now(org).astimezone(UTC).date().isoformat(),
            "change_quantity": "5",
            "change_when": "next_period",
        },
    )
    assert with_change.status_code == 200
    assert _row_counts() == before
    plain, changed = response.context["simulation"], with_change.context["simulation"]
    # The current period is already billed; the next 12 months hold 11 renewals.
    assert len(plain.invoices) == 11
    assert all(d.reason == "subscription_cycle" for d in plain.invoices)
    assert changed.total_minor > plain.total_minor
    with use_organization(org):
        assert customer_credit_balance(customer=sub.customer, currency="CLP") == 0


def test_product_page_links_every_price_to_the_simulator(viewer_client, catalog):
    html = viewer_client.get(
        reverse("billing:product_detail", args=[catalog["product"].pk])
    ).content.decode()
    assert reverse("billing:price_simulator", args=[catalog["price"].pk]) in html
    assert reverse("billing:price_simulator", args=[catalog["premium"].pk]) in html


def test_viewer_may_simulate_but_another_organization_may_not(
    viewer_client, other_owner_client, catalog, sub
):
    url = reverse("billing:price_simulator", args=[catalog["price"].pk])
    assert viewer_client.get(url, {"months": "12", "quantity": "1"}).status_code == 200
    assert other_owner_client.get(url).status_code == 404
    sub_url = reverse("billing:subscription_simulator", args=[sub.pk])
    assert other_owner_client.get(sub_url).status_code == 404


def test_bad_input_shows_clear_errors_and_no_simulation(owner_client, org, catalog):
    url = reverse("billing:price_simulator", args=[catalog["price"].pk])
    outside = owner_client.get(
        url,
        {
            "quantity": "1",
            "start_on": "2025-01-01",
            "months": "12",
            "change_on": "2027-01-01",
            "change_quantity": "3",
        },
    )
    assert outside.status_code == 400
    assert outside.context["simulation"] is None
    assert "La fecha del cambio debe estar entre" in outside.content.decode()

    with use_organization(org):
        yearly = price_create(
            product=catalog["product"], currency="CLP", amount_minor=120_000, interval="year"
        )
    interval_now = owner_client.get(
        url,
        {
            "quantity": "1",
            "start_on": "2025-01-01",
            "months": "12",
            "change_on": "2025-05-01",
            "change_price": yearly.pk,
            "change_when": "now",
        },
    )
    assert interval_now.status_code == 400
    assert "solo puede aplicarse en el próximo período" in interval_now.content.decode()

    too_long = owner_client.get(url, {"quantity": "1", "months": "999"})
    assert too_long.status_code == 400
    missing_date = owner_client.get(url, {"quantity": "1", "months": "12", "change_quantity": "2"})
    assert missing_date.status_code == 400
    assert "Elige la fecha del cambio de plan." in missing_date.content.decode()
