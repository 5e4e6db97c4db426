"""CSV export of the filtered invoice list: same filters as the page, streamed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from django.http import StreamingHttpResponse
from django.urls import reverse

from billing.models import CollectionMethod
from billing.services.invoices import ManualItem, invoice_create_one_off, invoice_mark_paid
from cobro import clock
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory


def _invoice(org, customer, amount, when, currency="CLP"):
    with use_organization(org), clock.frozen(when):
        return invoice_create_one_off(
            customer=customer,
            currency=currency,
            items=[ManualItem(description="Plan", unit_amount_minor=amount)],
            collection_method=CollectionMethod.SEND_INVOICE,
            now=when,
        )


def _rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    return list(csv.reader(io.StringIO(text)))


def test_export_streams_the_filtered_invoices(org, other_org, owner_client):
    ana = CustomerFactory(organization=org, name="Ana Pérez")
    bruno = CustomerFactory(organization=org, name="=HYPERLINK(1)")
    paid = _invoice(org, ana, 12_990, datetime(2025, 3, 10, 15, tzinfo=UTC))
    _invoice(org, bruno, 5_000, datetime(2025, 4, 10, 15, tzinfo=UTC))
    _invoice(
        other_org, CustomerFactory(organization=other_org), 777, datetime(2025, 3, 11, tzinfo=UTC)
    )
    with use_organization(org), clock.frozen(datetime(2025, 3, 12, tzinfo=UTC)):
        invoice_mark_paid(invoice=paid, now=datetime(2025, 3, 12, tzinfo=UTC))

    response = owner_client.get(reverse("billing:invoice_export"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert len(rows) == 3  # header + this organization's two invoices, newest first
    header = rows[0]
    by_col = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    total_col = header[8]
    assert [r[total_col] for r in by_col] == ["5000", "12990"]
    assert by_col[0][header[2]] == "'=HYPERLINK(1)"  # no formula injection
    assert by_col[1][header[2]] == "Ana Pérez"
    assert by_col[1][header[1]] == "paid"
    assert by_col[1][header[14]].startswith("2025-03-11T21:00:00-03:00")

    only_paid = _rows(owner_client.get(reverse("billing:invoice_export"), {"status": "paid"}))
    assert [r[0] for r in only_paid[1:]] == [paid.number]
    april = _rows(
        owner_client.get(
            reverse("billing:invoice_export"), {"date_from": "2025-04-01", "date_to": "2025-04-30"}
        )
    )
    assert len(april) == 2 and april[1][2] == "'=HYPERLINK(1)"


def test_export_refuses_an_impossible_date_range(org, owner_client):
    response = owner_client.get(
        reverse("billing:invoice_export"), {"date_from": "2025-05-01", "date_to": "2025-04-01"}
    )
    assert response.status_code == 400
    assert b"end date is before" in response.content or b"fecha" in response.content


def test_export_of_usd_amounts_keeps_cents(org, owner_client):
    from billing.models import BillingSettings

    with use_organization(org):
        row, _ = BillingSettings.objects.get_or_create(organization=org)
        row.extra_currencies = ["USD"]
        row.save()
    _invoice(
        org, CustomerFactory(organization=org), 1_299, datetime(2025, 3, 10, tzinfo=UTC), "USD"
    )
    rows = _rows(owner_client.get(reverse("billing:invoice_export")))
    assert rows[1][4] == "USD" and rows[1][8] == "12.99"
