"""Celery tasks of the customers app: thin (ids in, tenant set, one service call)."""

from __future__ import annotations

from celery import shared_task

from cobro.models import Organization
from cobro.tenancy.context import use_organization


@shared_task(name="customers.import_run", ignore_result=True)
def customer_import_run_task(organization_id: int, import_id: int) -> None:
    from customers.services.imports import customer_import_run

    organization = Organization.objects.get(pk=organization_id)
    with use_organization(organization):
        customer_import_run(import_id=import_id)
