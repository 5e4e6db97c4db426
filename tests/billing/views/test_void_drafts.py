"""Voiding drafts: a draft voided (alone or in bulk) never takes a number, the database accepts
it, an issued invoice still cannot lose its number, and the series stays gap-free."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.models import CollectionMethod, DocumentSequence, Invoice, InvoiceStatus
from billing.services.invoices import (
    ManualItem,
    invoice_create_one_off,
    invoice_finalize,
    invoice_void,
)
from cobro import clock
from cobro.tenancy.context import use_organization
from tests.billing.factories import CustomerFactory

WHEN = datetime(2025, 6, 10, 15, tzinfo=UTC)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _invoice(org, customer, amount, *, finalize):
    with use_organization(org), clock.frozen(WHEN):
        return invoice_create_one_off(
            customer=customer,
            currency="CLP",
            items=[ManualItem(description="Plan", unit_amount_minor=amount)],
            collection_method=CollectionMethod.SEND_INVOICE,
            finalize=finalize,
            now=WHEN,
        )


@pytest.fixture
def drafts(org, other_org):
    ana = CustomerFactory(organization=org, name="Ana Pérez", email="ana@example.com")
    issued = _invoice(org, ana, 5_000, finalize=True)
    d1 = _invoice(org, ana, 7_000, finalize=False)
    d2 = _invoice(org, ana, 8_000, finalize=False)
    foreign = _invoice(
        other_org, CustomerFactory(organization=other_org, name="Globex"), 1, finalize=False
    )
    return {"issued": issued, "d1": d1, "d2": d2, "foreign": foreign}


def test_voiding_a_draft_keeps_it_numberless_and_the_series_gap_free(org, drafts):
    with use_organization(org):
        voided = invoice_void(invoice=drafts["d1"], now=WHEN)
        assert voided.status == InvoiceStatus.VOID and voided.number is None
        voided.refresh_from_db()
        assert voided.status == InvoiceStatus.VOID and voided.number is None
        assert voided.issued_at is None and voided.amount_due_minor == 0
        # The next finalized invoice takes the number right after the last issued one.
        nxt = invoice_finalize(invoice=drafts["d2"], now=WHEN)
    assert nxt.sequence_number == drafts["issued"].sequence_number + 1
    seq = DocumentSequence.unscoped.get(organization=org, doc_type="invoice")
    assert seq.last_value == nxt.sequence_number


def test_a_draft_cannot_be_marked_paid_before_it_is_issued(org, drafts):
    """Paying a draft would make a paid invoice without a number: refused with a clear
    error (not a database IntegrityError), nothing changed."""
    from billing.error_codes import BillingError, BillingErrorCode
    from billing.services.invoices import invoice_mark_paid

    with use_organization(org):
        with pytest.raises(BillingError) as refused:
            invoice_mark_paid(invoice=drafts["d1"], now=WHEN)
        assert refused.value.code == BillingErrorCode.INVALID_TRANSITION
        drafts["d1"].refresh_from_db()
        assert drafts["d1"].status == InvoiceStatus.DRAFT and drafts["d1"].amount_paid_minor == 0


def test_constraint_still_refuses_an_issued_invoice_without_number(org, drafts):
    # A void row without number is only a discarded draft: one that was issued keeps its
    # number (the constraint, not only the services, says so).
    with transaction.atomic(), pytest.raises(IntegrityError):
        Invoice.unscoped.filter(pk=drafts["d1"].pk).update(
            status="void", number=None, issued_at=WHEN
        )
    with transaction.atomic(), pytest.raises(IntegrityError):
        Invoice.unscoped.filter(pk=drafts["d1"].pk).update(status="open")


def test_discarded_draft_is_not_in_the_portal_nor_a_pdf(org, owner_client, drafts):
    with use_organization(org):
        invoice_void(invoice=drafts["d1"], now=WHEN)
    response = owner_client.get(reverse("documents:invoice_pdf", args=[drafts["d1"].pk]))
    assert response.status_code == 404


def test_bulk_void_drafts_confirms_then_voids_only_drafts(org, owner_client, drafts):
    url = reverse("billing:invoice_bulk")
    ids = [drafts["d1"].pk, drafts["issued"].pk, drafts["d2"].pk, drafts["foreign"].pk]
    page = _text(owner_client.post(url, {"action": "void_drafts", "ids": ids}))
    assert "2 borradores se anularán" in page or "2 drafts will be voided" in page
    assert "Anular 2 borradores" in page or "Void 2 drafts" in page
    assert Invoice.unscoped.filter(status="void").count() == 0  # not yet

    page = _text(owner_client.post(url, {"action": "void_drafts", "ids": ids, "confirm": "yes"}))
    assert "2 borradores anulados" in page or "2 drafts voided" in page
    assert "2 no se pudieron" in page or "2 could not be done" in page
    voided = Invoice.unscoped.filter(status="void")
    assert sorted(voided.values_list("pk", flat=True)) == sorted([drafts["d1"].pk, drafts["d2"].pk])
    assert all(n is None for n in voided.values_list("number", flat=True))
    drafts["issued"].refresh_from_db()
    drafts["foreign"].refresh_from_db()
    assert drafts["issued"].status == "open" and drafts["foreign"].status == "draft"


def test_bulk_void_drafts_is_refused_to_viewers(org, viewer_client, drafts):
    response = viewer_client.post(
        reverse("billing:invoice_bulk"),
        {"action": "void_drafts", "ids": [drafts["d1"].pk], "confirm": "yes"},
    )
    assert response.status_code == 403
    drafts["d1"].refresh_from_db()
    assert drafts["d1"].status == "draft"


def test_invoice_list_offers_void_selected_drafts(org, owner_client, drafts):
    page = _text(owner_client.get(reverse("billing:invoice_list")))
    assert 'value="void_drafts"' in page


def test_voiding_one_draft_from_its_page_says_it_takes_no_number(org, owner_client, drafts):
    url = reverse("billing:invoice_void", args=[drafts["d1"].pk])
    page = _text(owner_client.get(url))
    assert "no toma número" in page or "takes no number" in page
    assert owner_client.post(url).status_code == 302
    drafts["d1"].refresh_from_db()
    assert drafts["d1"].status == "void" and drafts["d1"].number is None
    # An issued invoice's confirmation still says its number stays used.
    issued = _text(owner_client.get(reverse("billing:invoice_void", args=[drafts["issued"].pk])))
    assert "no toma número" not in issued and "takes no number" not in issued
