"""The audit log: an append-only record of what staff (and integrators) did."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cobro.models.base import TenantModel


class AuditEntry(TenantModel):
    """One staff action. Append-only: a database trigger rejects UPDATE and DELETE.

    ``actor`` is nullable so a deleted user's history survives (the trigger lets exactly one
    change through: ``actor`` becoming NULL when the user is deleted); ``actor_label`` keeps who
    it was (email, "api key <prefix>", "system"). ``changes`` is ``{"field": [old, new]}`` or any
    JSON that explains the action. Written only through ``cobro.services.audit.audit_record``.
    """

    # Deleting a user sets this to NULL, the one UPDATE the trigger allows; actor_label stays.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "target_type", "target_id"], name="audit_target_idx"
            )
        ]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
