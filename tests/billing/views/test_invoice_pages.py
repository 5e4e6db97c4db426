from __future__ import annotations

import re

import pytest
from django.urls import reverse

from billing.models import CreditNote, Invoice, InvoiceLine
from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro.tenancy.context import use_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(org, sub):
    with use_organization(org):
        return Invoice.objects.get(subscription=sub)


@pytest.fixture
def draft(org, catalog):
    with use_organization(org):
        return invoice_create_one_off(
            customer=catalog["customer"],
            currency="CLP",
            items=[ManualItem("Instalación", 45_000, tax_rate=catalog["iva"])],
            finalize=False,
        )


def test_list_renders_and_filters(owner_client, invoice):
    html = owner_client.get(reverse("billing:invoice_list")).content.decode()
    assert invoice.number in html
    assert (
        invoice.number
        in owner_client.get(
            reverse("billing:invoice_list"), {"q": "rosas", "status": "open"}
        ).content.decode()
    )
    assert (
        invoice.number
        not in owner_client.get(
            reverse("billing:invoice_list"), {"status": "void"}
        ).content.decode()
    )
    assert (
        invoice.number
        not in owner_client.get(
            reverse("billing:invoice_list"), {"date_to": "2001-01-01"}
        ).content.decode()
    )


def test_detail_lines_sum_to_total_in_chilean_format(owner_client, invoice):
    response = owner_client.get(reverse("billing:invoice_detail", args=[invoice.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    shown = [int(a) for a in re.findall(r'data-amount-minor="(-?\d+)"', html)]
    assert shown == list(
        InvoiceLine.unscoped.filter(invoice=invoice).values_list("amount_minor", flat=True)
    )
    assert sum(shown) + invoice.tax_minor == invoice.total_minor
    assert f'data-total-minor="{invoice.total_minor}"' in html
    # 2 × $12.990 = $25.980 + IVA 19% $4.936 = $30.916
    assert "$25.980" in html and "$4.936" in html and "$30.916" in html
    assert "IVA 19%" in html


def test_finalize_a_draft(owner_client, draft):
    url = reverse("billing:invoice_finalize", args=[draft.pk])
    assert owner_client.get(url).status_code == 200
    draft.refresh_from_db()
    assert draft.status == "draft"
    owner_client.post(url)
    draft.refresh_from_db()
    assert draft.status == "open" and draft.number


def test_void_an_open_invoice(owner_client, invoice):
    owner_client.post(reverse("billing:invoice_void", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == "void" and invoice.amount_due_minor == 0


def test_void_a_paid_invoice_is_refused_with_message(owner_client, invoice):
    owner_client.post(reverse("billing:invoice_mark_paid", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    response = owner_client.post(
        reverse("billing:invoice_void", args=[invoice.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert "not allowed in the current status" in response.content.decode()


def test_mark_uncollectible(owner_client, invoice):
    owner_client.post(reverse("billing:invoice_uncollectible", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == "uncollectible"


def test_full_credit_note(owner_client, invoice):
    response = owner_client.post(
        reverse("billing:credit_note_create", args=[invoice.pk]),
        {"kind": "full", "reason": "Error de facturación"},
    )
    assert response.status_code == 302
    note = CreditNote.unscoped.get(invoice=invoice)
    assert note.total_minor == invoice.total_minor
    invoice.refresh_from_db()
    assert invoice.amount_due_minor == 0
    detail = owner_client.get(reverse("billing:invoice_detail", args=[invoice.pk])).content
    assert note.number.encode() in detail


def test_partial_credit_note_within_limit(owner_client, invoice):
    owner_client.post(
        reverse("billing:credit_note_create", args=[invoice.pk]),
        {"kind": "partial", "amount": "10.000", "reason": "Descuento acordado"},
    )
    note = CreditNote.unscoped.get(invoice=invoice)
    assert note.total_minor == 10_000
    invoice.refresh_from_db()
    assert invoice.amount_due_minor == 30_916 - 10_000


def test_partial_credit_note_over_the_limit_is_refused(owner_client, invoice):
    response = owner_client.post(
        reverse("billing:credit_note_create", args=[invoice.pk]),
        {"kind": "partial", "amount": "40.000"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "At most $30.916 can still be credited" in response.content.decode()
    assert not CreditNote.unscoped.filter(invoice=invoice).exists()


def test_one_off_invoice_with_manual_items(owner_client, org, catalog):
    response = owner_client.post(
        reverse("billing:invoice_create"),
        {
            "customer": catalog["customer"].pk,
            "currency": "CLP",
            "collection_method": "send_invoice",
            "memo": "Gracias",
            "finalize": "on",
            "items-TOTAL_FORMS": "3",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "50",
            "items-0-description": "Capacitación",
            "items-0-quantity": "2",
            "items-0-unit_amount": "15.000",
            "items-0-tax_rate": catalog["iva"].pk,
            "items-1-description": "Traslado",
            "items-1-quantity": "1",
            "items-1-unit_amount": "5.000",
            "items-2-quantity": "1",
        },
    )
    assert response.status_code == 302
    with use_organization(org):
        invoice = Invoice.objects.get(billing_reason="manual")
    assert invoice.status == "open"
    assert invoice.total_minor == 30_000 + 5_700 + 5_000


def test_one_off_invoice_bad_amount_writes_nothing(owner_client, catalog):
    response = owner_client.post(
        reverse("billing:invoice_create"),
        {
            "customer": catalog["customer"].pk,
            "currency": "CLP",
            "collection_method": "send_invoice",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-0-description": "Algo",
            "items-0-quantity": "1",
            "items-0-unit_amount": "-3",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "cannot be negative" in response.content.decode()
    assert not Invoice.unscoped.filter(billing_reason="manual").exists()
