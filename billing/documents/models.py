"""The stored file of an issued document (invoice, paid invoice or credit note PDF)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.models import TenantModel


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")
    #: The invoice as paid: rendered once when it is paid, sent with the payment receipt and
    #: served instead of the issued copy from then on (the issued copy said "payment due").
    RECEIPT = "receipt", _("paid invoice")


class DocumentFile(TenantModel):
    """The PDF of one issued document, rendered once.

    The unique (kind, object_id) pair is the "already rendered" fact: a second render (a
    redelivered task, two workers) loses the insert and deletes its own file. Issued documents
    never change, so neither does their PDF. ``storage_path`` is a name in Django's default
    storage; ``sha256`` lets anyone check the stored bytes.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices)
    object_id = models.BigIntegerField(_("document id"))
    number = models.CharField(_("number"), max_length=32)
    language = models.CharField(_("language"), max_length=10)
    storage_path = models.CharField(_("file"), max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField(default=0)
    page_count = models.PositiveSmallIntegerField(default=1)
    rendered_at = models.DateTimeField(_("rendered"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="documentfile_once")
        ]
        indexes = [models.Index(fields=["organization", "kind"], name="documentfile_org_kind")]
        verbose_name = _("document file")
        verbose_name_plural = _("document files")

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"
