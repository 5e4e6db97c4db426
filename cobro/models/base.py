"""The tenant base model and its scoped manager."""

from __future__ import annotations

from django.db import models

from cobro.tenancy.context import require_current_organization


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of every tenant-owned model.

    Every query is filtered by the current organization; with none set it raises
    ``NoCurrentOrganization`` instead of silently returning every tenant's rows.
    """

    def get_queryset(self) -> TenantQuerySet:
        org = require_current_organization()
        return super().get_queryset().filter(organization_id=org.pk)


class TenantModel(models.Model):
    """Base of every tenant-owned table: a non-null, indexed ``organization`` FK.

    ``objects`` is scoped to the current organization. ``unscoped`` crosses tenants and is only
    for the kernel (billing run fan-out, outbox dispatch, admin) where that is the point.
    """

    organization = models.ForeignKey(
        "cobro.Organization", on_delete=models.PROTECT, related_name="+", db_index=True
    )

    objects = TenantManager()
    unscoped = models.Manager()  # noqa: DJ012 - a manager, not a field

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def save(self, *args, **kwargs):
        if self.organization_id is None:
            self.organization = require_current_organization()
        super().save(*args, **kwargs)
