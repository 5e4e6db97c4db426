"""A CSV import of customers: the uploaded file, its validation and the progress of the run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.fields import EncryptedTextField
from cobro.models import TenantModel


class CustomerImport(TenantModel):
    """One uploaded CSV. All rows are imported in one transaction, or none.

    Lifecycle: ``invalid`` (the file or some row failed validation; nothing can be imported)
    or ``validated`` -> ``queued`` (confirmed) -> ``running`` -> ``succeeded`` | ``failed``.
    ``processed_rows`` counts rows checked by the run, out of ``total_rows``.
    """

    class Status(models.TextChoices):
        INVALID = "invalid", _("Has errors")
        VALIDATED = "validated", _("Ready to import")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.SUCCEEDED, Status.FAILED)

    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.VALIDATED
    )
    filename = models.CharField(_("file"), max_length=255)
    # The decoded file (personal data, so encrypted at rest); size capped by the upload limit.
    content = EncryptedTextField(blank=True)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    # When true, rows whose email matches an existing customer update it instead of failing.
    update_existing = models.BooleanField(_("update existing customers"), default=False)
    language = models.CharField(max_length=10, default="es-419")
    columns = models.JSONField(default=list, blank=True)
    preview_rows = models.JSONField(default=list, blank=True)
    # [{"row": 3, "column": "email", "code": "invalid_email", "message": "..."}], row 1 = header
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    failure_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="customer_import_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, self.processed_rows * 100 // self.total_rows)
