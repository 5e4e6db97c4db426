"""Churn risk: a simple, explainable flag per customer.

Each signal found in the last ``WINDOW_DAYS`` (on the organization's clock) adds its weight
and one human-readable reason:

====================================================  ======
signal                                                weight
====================================================  ======
failed payment attempts (1; 2 or more weigh 2)        1 / 2
a subscription past due or unpaid now                 2
a detractor NPS answer (0-6), the latest NPS answer   2
a low CSAT answer (1-2), the latest CSAT answer       1
a subscription paused now or paused recently          1
a downgrade (lower monthly amount than before)        1
a cancellation scheduled at the period end            2
====================================================  ======

Level: ``high`` from 3 points, ``medium`` from 1, else ``low``. A customer without live
subscriptions (all cancelled) is not "at risk": they are gone, and the level is ``low`` with
no reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cobro import clock

WINDOW_DAYS = 90
HIGH_FROM, MEDIUM_FROM = 3, 1
LIVE = ("active", "trialing", "past_due", "unpaid", "paused", "incomplete")


@dataclass
class RiskAssessment:
    level: str  # "low" | "medium" | "high"
    reasons: list[str] = field(default_factory=list)
    score: int = 0

    @property
    def at_risk(self) -> bool:
        return self.level != "low"

    @property
    def level_label(self) -> str:
        return {"low": _("Low"), "medium": _("Medium"), "high": _("High")}[self.level]


def churn_risk(customer, *, now: datetime | None = None) -> RiskAssessment:
    """The customer's churn risk with the reasons behind it (translated, current language)."""
    from billing.models import Subscription
    from billing.payments.models import PaymentAttempt
    from feedback.models import PlanSnapshot, SurveyKind, SurveyResponse

    org = customer.organization
    now = now or clock.now(org)
    since = now - timedelta(days=WINDOW_DAYS)
    score = 0
    reasons: list[str] = []

    def add(weight: int, reason: str) -> None:
        nonlocal score
        score += weight
        reasons.append(reason)

    subs = list(
        Subscription.unscoped.filter(organization_id=org.pk, customer=customer, status__in=LIVE)
    )
    if not subs:
        return RiskAssessment(level="low")

    failed = PaymentAttempt.unscoped.filter(
        organization_id=org.pk, customer=customer, status="failed", created_at__gte=since
    ).count()
    if failed:
        add(
            2 if failed >= 2 else 1,
            ngettext(
                "%(n)d failed payment in the last %(days)d days",
                "%(n)d failed payments in the last %(days)d days",
                failed,
            )
            % {"n": failed, "days": WINDOW_DAYS},
        )
    if any(s.status in ("past_due", "unpaid") for s in subs):
        add(2, _("A subscription is past due or unpaid"))

    latest = {}
    for kind in (SurveyKind.NPS, SurveyKind.CSAT):
        latest[kind] = (
            SurveyResponse.unscoped.filter(
                organization_id=org.pk, customer=customer, kind=kind, created_at__gte=since
            )
            .order_by("-created_at", "-pk")
            .first()
        )
    nps = latest[SurveyKind.NPS]
    if nps is not None and nps.score <= 6:
        add(2, _("Low NPS: answered %(score)d out of 10") % {"score": nps.score})
    csat = latest[SurveyKind.CSAT]
    if csat is not None and csat.score <= 2:
        add(1, _("Low satisfaction (CSAT): answered %(score)d out of 5") % {"score": csat.score})

    paused_now = any(s.status == "paused" for s in subs)
    paused_recently = any(s.paused_at and s.paused_at >= since for s in subs)
    if paused_now:
        add(1, _("A subscription is paused"))
    elif paused_recently:
        add(1, _("Paused a subscription in the last %(days)d days") % {"days": WINDOW_DAYS})

    downgrades = [
        snap
        for snap in PlanSnapshot.unscoped.filter(
            organization_id=org.pk, customer=customer, created_at__gte=since
        )
        if snap.is_downgrade
    ]
    if downgrades:
        add(1, _("Downgraded to a cheaper plan in the last %(days)d days") % {"days": WINDOW_DAYS})

    if any(s.cancel_at_period_end for s in subs):
        add(2, _("Cancellation scheduled at the end of the period"))

    level = "high" if score >= HIGH_FROM else "medium" if score >= MEDIUM_FROM else "low"
    return RiskAssessment(level=level, reasons=reasons, score=score)


def at_risk_customers(organization, *, now: datetime | None = None, limit: int = 200):
    """[(customer, assessment)] of customers with any signal, highest risk first."""
    from billing.models import Subscription
    from billing.payments.models import PaymentAttempt
    from customers.models import Customer
    from feedback.models import PlanSnapshot, SurveyResponse

    now = now or clock.now(organization)
    since = now - timedelta(days=WINDOW_DAYS)
    org_id = organization.pk
    candidates: set[int] = set()
    candidates.update(
        PaymentAttempt.unscoped.filter(
            organization_id=org_id, status="failed", created_at__gte=since
        ).values_list("customer_id", flat=True)
    )
    candidates.update(
        Subscription.unscoped.filter(organization_id=org_id)
        .filter(status__in=("past_due", "unpaid", "paused"))
        .values_list("customer_id", flat=True)
    )
    candidates.update(
        Subscription.unscoped.filter(organization_id=org_id, status__in=LIVE)
        .filter(cancel_at_period_end=True)
        .values_list("customer_id", flat=True)
    )
    candidates.update(
        Subscription.unscoped.filter(
            organization_id=org_id, status__in=LIVE, paused_at__gte=since
        ).values_list("customer_id", flat=True)
    )
    candidates.update(
        SurveyResponse.unscoped.filter(organization_id=org_id, created_at__gte=since)
        .filter(kind="nps", score__lte=6)
        .values_list("customer_id", flat=True)
    )
    candidates.update(
        SurveyResponse.unscoped.filter(organization_id=org_id, created_at__gte=since)
        .filter(kind="csat", score__lte=2)
        .values_list("customer_id", flat=True)
    )
    candidates.update(
        PlanSnapshot.unscoped.filter(
            organization_id=org_id,
            created_at__gte=since,
            previous_amount_minor__gt=0,
        ).values_list("customer_id", flat=True)
    )
    rows = []
    customers = Customer.unscoped.filter(organization_id=org_id, pk__in=candidates).select_related(
        "organization"
    )
    for customer in customers:
        assessment = churn_risk(customer, now=now)
        if assessment.at_risk:
            rows.append((customer, assessment))
    rows.sort(key=lambda row: (-row[1].score, row[0].name.lower()))
    return rows[:limit]
