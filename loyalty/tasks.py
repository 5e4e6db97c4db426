"""Celery tasks of loyalty (thin: ids in, one service call per customer)."""

from __future__ import annotations

from celery import shared_task
from dateutil.relativedelta import relativedelta
from django.db.models import Min

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


@shared_task(name="loyalty.award_anniversaries", ignore_result=True)
def loyalty_award_anniversaries_task() -> int:
    """Daily: the anniversary bonus of every customer of organizations whose programme gives
    one. Idempotent (one entry per customer and year). Returns entries written."""
    from billing.models import Subscription, SubscriptionStatus
    from customers.models import Customer
    from loyalty.models import LoyaltyProgramme
    from loyalty.services.ledger import points_award_anniversary

    written = 0
    programmes = LoyaltyProgramme.unscoped.filter(
        enabled=True, anniversary_points__gt=0
    ).select_related("organization")
    for programme in programmes:
        org = programme.organization
        with use_organization(org):
            now = clock.now(org)
            # Only customers whose first subscription is at least a year old.
            ids = (
                Subscription.unscoped.filter(organization=org)
                .exclude(status=SubscriptionStatus.CANCELED)
                .values("customer_id")
                .annotate(first=Min("started_at"))
                .filter(first__lte=now - relativedelta(years=1))
                .values_list("customer_id", flat=True)
            )
            for customer in Customer.unscoped.filter(pk__in=list(ids)).select_related(
                "organization"
            ):
                if points_award_anniversary(customer=customer, now=now) is not None:
                    written += 1
    return written
