"""Tenant isolation registries of the customers app (loaded by tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from django.db import models

from cobro.models import Organization
from tests.isolation import isolation_factory, make, marked, url_case


@isolation_factory("customers.customerimport")
def _customer_import(org: Organization) -> models.Model:
    from customers.models import CustomerImport

    return CustomerImport.unscoped.create(
        organization=org,
        filename=marked(org, "clientes.csv"),
        status=CustomerImport.Status.VALIDATED,
        content="name,email\nAna,ana@example.cl\n",
        total_rows=1,
        preview_rows=[{"row": 2, "values": {"name": marked(org, "Ana"), "email": "a@x.cl"}}],
    )


@url_case("customers:import_detail")
def _import_detail(org: Organization) -> dict[str, Any]:
    return {"pk": make("customers.customerimport", org).pk}


@url_case("customers:import_confirm")
def _import_confirm(org: Organization) -> dict[str, Any]:
    return {"pk": make("customers.customerimport", org).pk}


@url_case("customers:import_progress")
def _import_progress(org: Organization) -> dict[str, Any]:
    return {"pk": make("customers.customerimport", org).pk}
