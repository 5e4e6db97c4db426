"""Pagination of the staff lists (``cobro.listing.paginate``): deep pages find the skipped
rows by primary key alone and load related objects only for the page's own rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Subscription
from cobro.listing import paginate
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory, PriceFactory, subscription_factory


def _subscribe(org, n: int) -> None:
    price = PriceFactory(organization=org)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with use_organization(org):
        for i in range(n):
            when = start + timedelta(hours=i)
            subscription_factory(
                customer=CustomerFactory(organization=org), price=price, now=when, start_at=when
            )


def _subscriptions(org):
    return (
        Subscription.unscoped.filter(organization=org)
        .select_related("customer", "price__product")
        .order_by("-created_at", "-pk")
    )


def test_a_deep_page_holds_the_same_rows_in_the_same_order_as_a_plain_slice(org, other_org):
    _subscribe(org, 12)
    _subscribe(other_org, 1)
    expected = list(_subscriptions(org))
    for number in (1, 2, 3):
        page = paginate(_subscriptions(org), number, per_page=5)
        assert [s.pk for s in page.object_list] == [s.pk for s in expected][
            (number - 1) * 5 : number * 5
        ]
        assert page.count == 12 and not page.count_capped
    assert paginate(_subscriptions(org), 2, per_page=5).has_next
    assert not paginate(_subscriptions(org), 3, per_page=5).has_next


def test_a_deep_page_joins_customers_and_plans_only_for_its_own_rows(org):
    _subscribe(org, 8)
    with CaptureQueriesContext(connection) as ctx:
        page = paginate(_subscriptions(org), 2, per_page=3)
        names = [(s.customer.name, s.price.product.name) for s in page.object_list]
    assert len(names) == 3
    offset_queries = [q["sql"] for q in ctx.captured_queries if "OFFSET" in q["sql"]]
    # The rows skipped by OFFSET are walked on the ordering index, without any join.
    assert offset_queries and all("JOIN" not in sql for sql in offset_queries)
    # Related objects came with the page's rows: no query per row.
    assert len(ctx.captured_queries) <= 3
