"""The staff lists cost the same number of queries whatever the number of rows on the page
(no query per row from the view or the template)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import CollectionMethod
from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro import clock
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory


def _open_invoices(org, n: int) -> None:
    when = datetime(2025, 3, 10, 15, tzinfo=UTC)  # due long ago: overdue today
    with use_organization(org), clock.frozen(when):
        for i in range(n):
            invoice_create_one_off(
                customer=CustomerFactory(organization=org),
                currency="CLP",
                items=[ManualItem(description="Plan", unit_amount_minor=1000 + i)],
                collection_method=CollectionMethod.SEND_INVOICE,
                finalize=True,
                now=when,
            )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_open_invoices_list_makes_no_query_per_row(org, owner_client):
    url = reverse("billing:invoice_list") + "?status=open"
    _open_invoices(org, 2)
    few = _queries(owner_client, url)
    _open_invoices(org, 6)
    page = owner_client.get(url).content.decode()
    assert page.count("F-") >= 8  # every invoice is on the page
    assert _queries(owner_client, url) == few
