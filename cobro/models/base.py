"""The tenant base model and its scoped manager."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from django.db import connections, models, router

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


class ScopedSelect:
    """A hot read of a tenant model as SQL written once: ``SELECT <every column> FROM <table>
    WHERE organization_id = <current organization> AND (<where>) ORDER BY <order_by>``.

    Django compiles a queryset's SQL anew for every query (and a prefetch builds a queryset per
    object); on the API's hottest reads that was a third of the CPU of a request. The rows
    become model instances exactly as the ORM makes them (``Model.from_db``), so only fields
    without a ``from_db_value`` conversion are allowed. Like the default manager, it raises
    ``NoCurrentOrganization`` without a current organization.
    """

    def __init__(self, model: type[models.Model], where: str, order_by: tuple[str, ...] = ()):
        meta = model._meta
        fields = meta.concrete_fields
        converted = [f.name for f in fields if hasattr(f, "from_db_value")]
        if converted:
            raise ValueError(f"{meta.label}: fields converted on load: {converted}")
        table = f'"{meta.db_table}"'
        columns = ", ".join(f'{table}."{f.column}"' for f in fields)
        order = ", ".join(
            f'{table}."{_field(meta, name.lstrip("-")).column}"'
            + (" DESC" if name.startswith("-") else "")
            for name in order_by
        )
        self.model = model
        self.attnames = [f.attname for f in fields]
        self.row_class: Any = namedtuple(f"{model.__name__}Row", self.attnames)  # type: ignore[misc]
        # Only model metadata and the caller's constant ``where`` go into the text; values
        # are always parameters.
        sql = f'SELECT {columns} FROM {table} WHERE {table}."organization_id" = %s AND ({where})'  # noqa: S608
        self.sql = sql + (f" ORDER BY {order}" if order else "")

    def _rows(self, params) -> tuple[str, list[tuple]]:
        org = require_current_organization()
        alias = router.db_for_read(self.model)
        with connections[alias].cursor() as cursor:
            cursor.execute(self.sql, [org.pk, *params])
            return alias, cursor.fetchall()

    def fetch(self, *params) -> list:
        """The model instances for ``params`` (the placeholders of ``where``, in order)."""
        alias, rows = self._rows(params)
        from_db, attnames = self.model.from_db, self.attnames
        return [from_db(alias, attnames, row) for row in rows]

    def fetch_rows(self, *params) -> list:
        """Read-only named tuples with the model's attribute names (``customer_id``, not
        ``customer``), a fraction of the cost of model instances, for output only."""
        _alias, rows = self._rows(params)
        make = self.row_class._make
        return [make(row) for row in rows]


def _field(meta, name: str):
    return meta.pk if name == "pk" else meta.get_field(name)
