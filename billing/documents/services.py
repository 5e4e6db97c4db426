"""Render an issued document once and store it; read the stored bytes back."""

from __future__ import annotations

import hashlib
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from billing.documents import rendering
from billing.documents.models import DocumentFile, DocumentKind
from cobro import clock
from cobro.models import Organization
from cobro.tenancy.context import use_organization

logger = logging.getLogger(__name__)


class DocumentNotIssued(ValueError):
    """Drafts (and unknown ids) have no PDF: only issued documents are rendered."""


def _organization_of(kind: str, object_id: int) -> Organization:
    from billing.models import CreditNote, Invoice

    model = CreditNote if kind == DocumentKind.CREDIT_NOTE else Invoice
    org_id = model.unscoped.filter(pk=object_id).values_list("organization_id", flat=True).first()
    if org_id is None:
        raise DocumentNotIssued(f"{kind} {object_id} does not exist")
    return Organization.objects.get(pk=org_id)


def _load(kind: str, object_id: int):
    from billing.models import CreditNote, Invoice, InvoiceStatus

    if kind in (DocumentKind.INVOICE, DocumentKind.RECEIPT):
        invoice = (
            Invoice.unscoped.select_related("organization", "customer")
            .prefetch_related("lines", "taxes")
            .filter(pk=object_id)
            .first()
        )
        if invoice is None or invoice.status == InvoiceStatus.DRAFT or not invoice.number:
            raise DocumentNotIssued(f"invoice {object_id} is not issued")
        if kind == DocumentKind.RECEIPT and invoice.status != InvoiceStatus.PAID:
            raise DocumentNotIssued(f"invoice {object_id} is not paid")
        return invoice
    if kind == DocumentKind.CREDIT_NOTE:
        note = (
            CreditNote.unscoped.select_related("organization", "customer", "invoice")
            .prefetch_related("lines")
            .filter(pk=object_id)
            .first()
        )
        if note is None:
            raise DocumentNotIssued(f"credit note {object_id} does not exist")
        return note
    raise ValueError(f"unknown document kind {kind!r}")


def document_render(*, kind: str, object_id: int) -> DocumentFile:
    """Render and store the PDF of an issued document, once.

    Returns the existing ``DocumentFile`` when there is one. Rendering happens outside any
    transaction; the insert of the unique (kind, object_id) row decides which render is kept,
    and a losing concurrent render deletes the file it wrote.
    """
    existing = DocumentFile.unscoped.filter(kind=kind, object_id=object_id).first()
    if existing is not None:
        return existing
    organization = _organization_of(kind, object_id)
    # Tasks arrive without a tenant: the document's organization scopes its related rows.
    with use_organization(organization):
        document = _load(kind, object_id)
        language = rendering.document_language(document.customer)
        if kind == DocumentKind.CREDIT_NOTE:
            pdf, pages = rendering.credit_note_pdf(document, language=language)
        else:
            pdf, pages = rendering.invoice_pdf(document, language=language)
    digest = hashlib.sha256(pdf).hexdigest()
    name = default_storage.save(
        f"documents/{document.organization_id}/{kind}/{document.number}-{digest[:12]}.pdf",
        ContentFile(pdf),
    )
    try:
        with transaction.atomic():
            return DocumentFile.unscoped.create(
                organization_id=document.organization_id,
                kind=kind,
                object_id=object_id,
                number=document.number,
                language=language,
                storage_path=name,
                sha256=digest,
                size_bytes=len(pdf),
                page_count=pages,
                rendered_at=clock.now(),
            )
    except IntegrityError:
        default_storage.delete(name)
        logger.info("%s %s was rendered concurrently; kept the first file", kind, object_id)
        return DocumentFile.unscoped.get(kind=kind, object_id=object_id)


def document_read(document_file: DocumentFile) -> bytes:
    with default_storage.open(document_file.storage_path, "rb") as fh:
        return fh.read()


def invoice_document_kind(invoice) -> str:
    """Which stored copy of an invoice is current: the paid copy once it is paid (it says
    "paid" and when), the issued copy before."""
    from billing.models import InvoiceStatus

    return DocumentKind.RECEIPT if invoice.status == InvoiceStatus.PAID else DocumentKind.INVOICE


def invoice_pdf_bytes(*, invoice_id: int, kind: str | None = None) -> tuple[str, bytes]:
    """(filename, bytes) of the current PDF of an issued invoice (the paid copy once paid),
    or of the copy ``kind`` names, rendering it first if the documents queue has not yet done
    so (the unique row still makes it a single render per copy)."""
    from billing.models import Invoice

    if kind is None:
        invoice = Invoice.unscoped.only("status").filter(pk=invoice_id).first()
        if invoice is None:
            raise DocumentNotIssued(f"invoice {invoice_id} does not exist")
        kind = invoice_document_kind(invoice)
    doc = document_render(kind=kind, object_id=invoice_id)
    return doc.filename, document_read(doc)
