"""Celery tasks of feedback (thin: one service call per organization)."""

from __future__ import annotations

from celery import shared_task

from cobro.tenancy.context import use_organization


@shared_task(name="feedback.tick", ignore_result=True)
def feedback_tick() -> int:
    """Hourly: anniversaries, satisfaction checks and periodic surveys due now in every
    organization with subscriptions (each on its own clock). Idempotent."""
    from billing.models import Subscription
    from cobro.models import Organization
    from feedback.services.followups import followups_due

    org_ids = Subscription.unscoped.values_list("organization_id", flat=True).distinct()
    sent = 0
    for org in Organization.objects.filter(pk__in=list(org_ids)):
        with use_organization(org):
            sent += followups_due(organization=org)
    return sent
