"""The invoice list: filters (status, dates, amounts, overdue), whitelisted sort, pagination
without counting everything, the CSV export of exactly what is filtered (streamed, or a
background job with progress for a large set), bulk reminders and voids, and the timeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from billing.models import CollectionMethod, Invoice
from billing.services.invoices import ManualItem, invoice_create_one_off, invoice_mark_paid
from cobro import clock
from cobro.tenancy.context import use_organization
from customers.messaging.models import Message
from tests.billing.factories import CustomerFactory


def _invoice(org, customer, amount, when, *, finalize=True, currency="CLP"):
    with use_organization(org), clock.frozen(when):
        return invoice_create_one_off(
            customer=customer,
            currency=currency,
            items=[ManualItem(description="Plan", unit_amount_minor=amount)],
            collection_method=CollectionMethod.SEND_INVOICE,
            finalize=finalize,
            now=when,
        )


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _csv(response) -> list[list[str]]:
    if isinstance(response, StreamingHttpResponse):
        data = b"".join(response.streaming_content)  # type: ignore[arg-type]
    else:
        data = b"".join(response)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def invoices(org, other_org):
    ana = CustomerFactory(organization=org, name="Ana Pérez", email="ana@example.com")
    bruno = CustomerFactory(organization=org, name="Bruno Díaz", email="bruno@example.com")
    small = _invoice(org, ana, 5_000, datetime(2025, 3, 10, 15, tzinfo=UTC))
    big = _invoice(org, bruno, 90_000, datetime(2025, 4, 10, 15, tzinfo=UTC))
    paid = _invoice(org, ana, 20_000, datetime(2025, 5, 10, 15, tzinfo=UTC))
    draft = _invoice(org, bruno, 7_000, datetime(2025, 6, 10, 15, tzinfo=UTC), finalize=False)
    with use_organization(org):
        invoice_mark_paid(invoice=paid, now=datetime(2025, 5, 11, tzinfo=UTC))
    _invoice(
        other_org,
        CustomerFactory(organization=other_org, name="Secreto Globex"),
        1,
        datetime(2025, 3, 10, tzinfo=UTC),
    )
    return {"small": small, "big": big, "paid": paid, "draft": draft}


def _numbers(page: str) -> list[str]:
    return re.findall(r">(F-[0-9A-Z-]+|borrador|draft)</a>", page)


def test_list_filters_by_status_amount_dates_and_overdue(org, owner_client, invoices):
    url = reverse("billing:invoice_list")
    page = _text(owner_client.get(url))
    assert "Ana Pérez" in page and "Bruno Díaz" in page and "Secreto Globex" not in page

    page = _text(owner_client.get(url, {"status": "paid"}))
    assert invoices["paid"].number in page and invoices["big"].number not in page

    # Amounts in major units of the organization's currency (CLP): 10.000 .. 50.000
    page = _text(owner_client.get(url, {"amount_min": "10.000", "amount_max": "50000"}))
    assert invoices["paid"].number in page
    assert invoices["small"].number not in page and invoices["big"].number not in page

    page = _text(owner_client.get(url, {"date_from": "2025-04-01", "date_to": "2025-04-30"}))
    assert invoices["big"].number in page and invoices["small"].number not in page

    page = _text(owner_client.get(url, {"overdue": "on"}))
    assert invoices["small"].number in page and invoices["big"].number in page
    assert invoices["paid"].number not in page  # paid is never overdue

    page = _text(owner_client.get(url, {"q": "bruno@"}))
    assert invoices["big"].number in page and invoices["small"].number not in page


def test_sort_is_whitelisted_and_toggles(org, owner_client, invoices):
    url = reverse("billing:invoice_list")
    page = _text(owner_client.get(url, {"sort": "-total"}))
    assert page.index(invoices["big"].number) < page.index(invoices["small"].number)
    assert 'aria-sort="descending"' in page
    page = _text(owner_client.get(url, {"sort": "total"}))
    assert page.index(invoices["small"].number) < page.index(invoices["big"].number)
    # An unknown column is ignored (default order), never passed to ORDER BY.
    response = owner_client.get(url, {"sort": "customer__password"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "field", "es", "en"),
    [
        (
            {"date_from": "2025-05-01", "date_to": "2025-04-01"},
            "date_to",
            "anterior a la inicial",
            "end date is before the start date",
        ),
        (
            {"amount_min": "50000", "amount_max": "10"},
            "amount_max",
            "máximo es menor",
            "maximum amount is below the minimum",
        ),
        ({"amount_min": "-5"}, "amount_min", "negativo", "cannot be negative"),
        ({"date_from": "2025-02-30"}, "date_from", "fecha válida", "valid date"),
        ({"date_to": "20225-01-01"}, "date_to", "fecha válida", "valid date"),
    ],
)
def test_impossible_filters_say_why_in_both_languages(
    org, owner_client, invoices, params, field, es, en
):
    url = reverse("billing:invoice_list")
    response = owner_client.get(url, params, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    page = _text(response)
    assert f'id="id_{field}_error"' in page
    assert es in page.lower()
    assert "Revisa los filtros" in page  # the list is not silently empty: it says why
    response = owner_client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")
    assert en in _text(response).lower()
    # The export refuses the same filters with the same reason, and writes nothing.
    export = owner_client.get(reverse("billing:invoice_export"), params, HTTP_ACCEPT_LANGUAGE="en")
    assert export.status_code == 400
    assert en in export.content.decode().lower()


def test_export_link_carries_the_filters_and_exports_exactly_the_filtered_rows(
    org, owner_client, invoices
):
    params = {"status": "open", "sort": "-total", "amount_min": "1000"}
    page = owner_client.get(reverse("billing:invoice_list"), params).content.decode()
    href = re.search(r'href="(/billing/invoices/export\.csv\?[^"]+)"', page).group(1)
    href = href.replace("&amp;", "&")
    for key, value in params.items():
        assert f"{key}={value}" in href
    rows = _csv(owner_client.get(href))
    assert [r[0] for r in rows[1:]] == [invoices["big"].number, invoices["small"].number]


def test_large_export_runs_in_background_with_progress_then_downloads(
    org, other_org, owner_client, invoices, monkeypatch
):
    import cobro.exports

    monkeypatch.setattr(cobro.exports, "INLINE_LIMIT", 2)
    monkeypatch.setattr(cobro.exports, "PROGRESS_EVERY", 1)
    response = owner_client.get(reverse("billing:invoice_export"), {"sort": "total"})
    assert response.status_code == 302
    job_url = response["Location"]
    # Tests run Celery eagerly: the job is done by now. The page shows the summary.
    page = _text(owner_client.get(job_url))
    assert "4 filas exportadas" in page or "4 rows exported" in page
    htmx = owner_client.get(job_url, HTTP_HX_REQUEST="true")
    assert 'id="export-progress"' in htmx.content.decode()
    assert "hx-trigger" not in htmx.content.decode()  # finished: polling stops
    download = owner_client.get(job_url + "download/")
    rows = _csv(download.streaming_content)
    assert len(rows) == 5
    assert "Secreto Globex" not in str(rows)

    from django.test import Client

    from tests.factories import MembershipFactory, UserFactory

    stranger = UserFactory(email="owner@globex.test")
    MembershipFactory(organization=other_org, user=stranger, role="owner")
    c = Client()
    c.force_login(stranger)
    assert c.get(job_url).status_code == 404
    assert c.get(job_url + "download/").status_code == 404


def test_running_export_job_shows_a_progress_bar_that_polls(org, owner_client):
    from django.core.cache import cache

    cache.set(
        "cobro:export:abc123",
        {
            "id": "abc123",
            "organization_id": org.pk,
            "status": "running",
            "done": 2000,
            "total": 8000,
            "filename": "invoices.csv",
            "error": "",
        },
        60,
    )
    page = _text(owner_client.get(reverse("dashboard:export_job", args=["abc123"])))
    assert '<progress max="8000" value="2000">' in page
    assert 'hx-trigger="every 1s"' in page


def test_pagination_shows_ranges_and_next_without_counting_beyond_the_cap(
    org, owner_client, monkeypatch
):
    customer = CustomerFactory(organization=org, name="Cliente")
    for i in range(30):
        _invoice(org, customer, 1000 + i, datetime(2025, 1, 1 + i % 28, tzinfo=UTC), finalize=False)
    url = reverse("billing:invoice_list")
    page = _text(owner_client.get(url))
    assert "1–25 de 30" in page or "1–25 of 30" in page
    assert 'rel="next"' in page
    page2 = _text(owner_client.get(url, {"page": 2}))
    assert "26–30" in page2 and 'rel="prev"' in page2
    # Garbage page numbers fall back to the first page.
    assert owner_client.get(url, {"page": "x"}).status_code == 200

    import cobro.listing

    ten = cobro.listing.paginate(
        Invoice.unscoped.filter(organization=org).order_by("pk"), 1, per_page=5, count_cap=10
    )
    assert ten.count_capped and ten.count == 10 and ten.has_next


def test_viewer_sees_no_bulk_controls_and_the_bulk_url_refuses(org, viewer_client, invoices):
    page = _text(viewer_client.get(reverse("billing:invoice_list")))
    assert 'name="ids"' not in page and 'name="action"' not in page
    response = viewer_client.post(
        reverse("billing:invoice_bulk"),
        {"action": "remind", "ids": [invoices["small"].pk], "confirm": "yes"},
    )
    assert response.status_code == 403
    assert not Message.unscoped.filter(template_key="invoice_reminder").exists()


def test_bulk_reminder_confirms_then_sends_and_reports_each_row(org, owner_client, invoices):
    url = reverse("billing:invoice_bulk")
    ids = [invoices["small"].pk, invoices["paid"].pk, invoices["big"].pk]
    confirm = owner_client.post(url, {"action": "remind", "ids": ids})
    page = _text(confirm)
    assert confirm.status_code == 200
    assert "2 clientes recibirán" in page or "2 customers will get" in page
    assert not Message.unscoped.filter(template_key="invoice_reminder").exists()  # not yet

    result = owner_client.post(url, {"action": "remind", "ids": ids, "confirm": "yes"})
    page = _text(result)
    assert "2 recordatorios enviados" in page or "2 reminders sent" in page
    assert "1 no se pudo" in page or "1 could not be done" in page
    sent = Message.unscoped.filter(template_key="invoice_reminder")
    assert sorted(m.params["invoice_id"] for m in sent) == sorted(
        [invoices["small"].pk, invoices["big"].pk]
    )
    # Reminders are audited and appear on the invoice's timeline.
    detail = _text(owner_client.get(reverse("billing:invoice_detail", args=[invoices["big"].pk])))
    assert "Recordatorio enviado" in detail or "Reminder sent" in detail
    assert "invoice_reminder" in detail or "recordatorio" in detail.lower()

    # Again the same day: nothing is sent twice; each row says why.
    again = _text(owner_client.post(url, {"action": "remind", "ids": ids, "confirm": "yes"}))
    assert "0 recordatorios enviados" in again or "0 reminders sent" in again
    assert "ya se envió un recordatorio hoy" in again.lower() or "already sent today" in again
    assert Message.unscoped.filter(template_key="invoice_reminder").count() == 2


def test_bulk_export_gives_exactly_the_selected_rows(org, owner_client, viewer_client, invoices):
    url = reverse("billing:invoice_bulk")
    ids = [invoices["draft"].pk, invoices["big"].pk]
    rows = _csv(owner_client.post(url, {"action": "export", "ids": ids}))
    assert sorted(r[0] for r in rows[1:]) == sorted(["", invoices["big"].number])
    assert viewer_client.post(url, {"action": "export", "ids": ids}).status_code == 403


def test_bulk_refuses_unknown_action_and_empty_selection(org, owner_client, invoices):
    url = reverse("billing:invoice_bulk")
    response = owner_client.post(url, {"action": "delete", "ids": [invoices["draft"].pk]})
    assert response.status_code == 302
    response = owner_client.post(url, {"action": "remind"}, follow=True)
    assert "Selecciona al menos una factura" in _text(response) or "Select at least one" in _text(
        response
    )


def test_bulk_cannot_touch_another_organizations_invoice(org, other_org, owner_client):
    theirs = _invoice(
        other_org,
        CustomerFactory(organization=other_org),
        500,
        datetime(2025, 3, 1, tzinfo=UTC),
    )
    page = _text(
        owner_client.post(
            reverse("billing:invoice_bulk"),
            {"action": "remind", "ids": [theirs.pk], "confirm": "yes"},
        )
    )
    assert "no encontrada" in page.lower() or "not found" in page.lower()
    assert not Message.unscoped.filter(template_key="invoice_reminder").exists()
    rows = _csv(
        owner_client.post(reverse("billing:invoice_bulk"), {"action": "export", "ids": [theirs.pk]})
    )
    assert rows[1:] == []


def test_empty_list_says_what_to_do_next(org, owner_client, viewer_client):
    page = _text(owner_client.get(reverse("billing:invoice_list")))
    assert reverse("billing:invoice_create") in page
    page = _text(viewer_client.get(reverse("billing:invoice_list")))
    assert reverse("billing:invoice_create") not in page


def test_selected_rows_stay_selected_under_the_overdue_filter(org, invoices):
    """A bulk export of selected rows while "overdue" is on gives the selected overdue rows,
    not every overdue invoice of the organization."""
    from billing.selectors import filtered_invoices, overdue_invoices

    with use_organization(org):
        overdue = set(overdue_invoices(organization=org).values_list("pk", flat=True))
        assert {invoices["small"].pk, invoices["big"].pk} <= overdue
        chosen = filtered_invoices(
            organization=org, data={"ids": [invoices["small"].pk], "overdue": True}
        )
        assert [i.pk for i in chosen] == [invoices["small"].pk]
