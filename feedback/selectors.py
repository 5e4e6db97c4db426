"""Reads of the feedback pages: NPS by month, CSAT average, cancellation reasons, comments.

NPS = % promoters (9-10) - % detractors (0-6), an integer from -100 to 100, over the
responses answered in the period; months are calendar months in the organization's time
zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db.models import Avg, Count, Q, QuerySet

from cobro import clock
from feedback.models import SurveyKind, SurveyResponse


@dataclass
class MonthNps:
    month: date
    responses: int
    promoters: int
    detractors: int

    @property
    def nps(self) -> int | None:
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses)


def nps_value(responses: QuerySet) -> tuple[int | None, int]:
    """(NPS, number of answers) of NPS ``responses``."""
    agg = responses.filter(kind=SurveyKind.NPS).aggregate(
        n=Count("pk"), p=Count("pk", filter=Q(score__gte=9)), d=Count("pk", filter=Q(score__lte=6))
    )
    if not agg["n"]:
        return None, 0
    return round(100 * (agg["p"] - agg["d"]) / agg["n"]), agg["n"]


def csat_average(responses: QuerySet) -> tuple[float | None, int]:
    agg = responses.filter(kind=SurveyKind.CSAT).aggregate(avg=Avg("score"), n=Count("pk"))
    return (round(float(agg["avg"]), 2) if agg["avg"] is not None else None), agg["n"]


def nps_by_month(organization, *, months: int = 12, now: datetime | None = None) -> list[MonthNps]:
    tz = ZoneInfo(organization.time_zone)
    now = now or clock.now(organization)
    first = now.astimezone(tz).date().replace(day=1) - relativedelta(months=months - 1)
    start = datetime(first.year, first.month, 1, tzinfo=tz)
    buckets = {
        first + relativedelta(months=i): MonthNps(first + relativedelta(months=i), 0, 0, 0)
        for i in range(months)
    }
    rows = SurveyResponse.objects.filter(kind=SurveyKind.NPS, created_at__gte=start).values_list(
        "created_at", "score"
    )
    for created_at, score in rows:
        key = created_at.astimezone(tz).date().replace(day=1)
        bucket = buckets.get(key)
        if bucket is None:
            continue
        bucket.responses += 1
        bucket.promoters += score >= 9
        bucket.detractors += score <= 6
    return list(buckets.values())


def cancellation_reasons(*, since: datetime | None = None, until: datetime | None = None):
    """[(reason value, label, count, percent)] of the portal's cancellation survey, most
    frequent first; unanswered reasons count as "not given"."""
    from django.utils.translation import gettext as _

    from customers.portal.models import CancellationFeedback, CancellationReason

    qs = CancellationFeedback.objects.all()
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    counts = dict(qs.values_list("reason").annotate(n=Count("pk")).values_list("reason", "n"))
    total = sum(counts.values())
    labels = dict(CancellationReason.choices)
    rows = []
    for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        label = labels.get(value) if value else _("Not given")
        rows.append(
            {
                "reason": value,
                "label": label or value,
                "count": n,
                "percent": round(100 * n / total) if total else 0,
            }
        )
    return rows, total


def cancellation_comments(*, since=None, until=None, limit: int = 20):
    from customers.portal.models import CancellationFeedback

    qs = CancellationFeedback.objects.exclude(comment="").select_related("customer")
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs[:limit]
