"""Tenant isolation entries of billing.documents (imported by tests/isolation.py)."""

from __future__ import annotations

from billing.documents.models import DocumentKind
from billing.documents.services import document_render
from tests.isolation import isolation_factory, make, url_case


@isolation_factory("documents.documentfile")
def _document_file(org):
    invoice = make("billing.invoice", org)
    return document_render(kind=DocumentKind.INVOICE, object_id=invoice.pk)


@url_case("documents:invoice_pdf")
def _invoice_pdf(org):
    return {"pk": make("billing.invoice", org).pk}


@url_case("documents:credit_note_pdf")
def _credit_note_pdf(org):
    return {"pk": make("billing.creditnote", org).pk}
