"""Celery tasks of loyalty (thin: ids in, one service call per customer)."""

from __future__ import annotations

from celery import shared_task

from cobro import clock
from cobro.tenancy.context import use_organization


@shared_task(name="loyalty.expire_points", ignore_result=True)
def loyalty_expire_points_task() -> int:
    """Expire points past their date in every organization whose programme sets an expiry.
    Idempotent: a second run finds nothing left to expire. Returns entries written."""
    from loyalty.models import LoyaltyProgramme, PointsEntry
    from loyalty.services.ledger import points_expire

    written = 0
    programmes = LoyaltyProgramme.unscoped.filter(expiry_months__gt=0).select_related(
        "organization"
    )
    for programme in programmes:
        org = programme.organization
        with use_organization(org):
            due = (
                PointsEntry.unscoped.filter(
                    organization=org, points__gt=0, expires_at__lte=clock.now(org)
                )
                .values_list("customer", flat=True)
                .distinct()
            )
            from customers.models import Customer

            for customer in Customer.unscoped.filter(pk__in=list(due)).select_related(
                "organization"
            ):
                if points_expire(customer=customer, now=clock.now(org)) is not None:
                    written += 1
    return written
