"""Gap-free document numbers: one locked counter row per organization and document type."""

from __future__ import annotations

from django.db import connection

from billing.models import BillingSettings, DocumentSequence, DocumentType
from cobro.models import Organization

DEFAULT_PREFIX = {DocumentType.INVOICE: "F-", DocumentType.CREDIT_NOTE: "NC-"}


def _prefix(organization: Organization, doc_type: str) -> str:
    settings = BillingSettings.unscoped.filter(organization=organization).first()
    if settings is None:
        return DEFAULT_PREFIX[DocumentType(doc_type)]
    if doc_type == DocumentType.INVOICE:
        return settings.invoice_prefix
    return settings.credit_note_prefix


def document_number_next(*, organization: Organization, doc_type: str) -> tuple[int, str]:
    """Take the next number inside the caller's transaction (the row stays locked until it
    commits; a rollback gives the number back, so numbers have no gaps). Returns
    ``(sequence_number, formatted)`` such as ``(123, "F-000123")``."""
    if not connection.in_atomic_block:
        raise RuntimeError("document numbers are taken inside the finalizing transaction")
    qs = DocumentSequence.unscoped.select_for_update().filter(
        organization=organization, doc_type=doc_type
    )
    seq = qs.first()
    if seq is None:
        DocumentSequence.unscoped.bulk_create(
            [
                DocumentSequence(
                    organization=organization,
                    doc_type=doc_type,
                    prefix=_prefix(organization, doc_type),
                )
            ],
            ignore_conflicts=True,
        )
        seq = qs.get()
    seq.last_value += 1
    DocumentSequence.unscoped.filter(pk=seq.pk).update(last_value=seq.last_value)
    return seq.last_value, f"{seq.prefix}{seq.last_value:0{seq.padding}d}"
