"""Staff download of issued documents' PDFs. Lookups go through the tenant-scoped manager,
so another organization's document is a 404, not a 403."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from billing.documents.models import DocumentKind
from billing.documents.services import (
    DocumentNotIssued,
    document_read,
    document_render,
    invoice_document_kind,
)
from cobro.views.base import StaffView


def pdf_response(*, kind: str, object_id: int, download: bool) -> HttpResponse:
    try:
        doc = document_render(kind=kind, object_id=object_id)
    except DocumentNotIssued:
        raise Http404 from None
    response = HttpResponse(document_read(doc), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{doc.filename}"'
    response["Cache-Control"] = "private, max-age=0, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class InvoicePdfView(StaffView):
    required_permission = "view"

    def get(self, request, pk: int):
        from billing.models import Invoice

        invoice = get_object_or_404(Invoice.objects.filter(number__isnull=False), pk=pk)
        return pdf_response(
            kind=invoice_document_kind(invoice),
            object_id=invoice.pk,
            download="download" in request.GET,
        )


class CreditNotePdfView(StaffView):
    required_permission = "view"

    def get(self, request, pk: int):
        from billing.models import CreditNote

        note = get_object_or_404(CreditNote.objects.all(), pk=pk)
        return pdf_response(
            kind=DocumentKind.CREDIT_NOTE, object_id=note.pk, download="download" in request.GET
        )
