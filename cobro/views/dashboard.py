from __future__ import annotations

from fractions import Fraction

from django.http import HttpResponse
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.generic import TemplateView

from cobro.models import Invitation, Membership
from cobro.views.base import StaffView

# The home is one of the two places allowed to compose every app (ARCHITECTURE.md), so it may
# read billing's selectors.
PERIOD_LABELS = {
    "30d": _("Last 30 days"),
    "3m": _("3 months"),
    "6m": _("6 months"),
    "12m": _("12 months"),
}
MOVEMENT_LABELS = {
    "new": pgettext_lazy("MRR movement", "New"),
    "expansion": pgettext_lazy("MRR movement", "Expansion"),
    "reactivation": pgettext_lazy("MRR movement", "Reactivation"),
    "contraction": pgettext_lazy("MRR movement", "Contraction"),
    "churn": pgettext_lazy("MRR movement", "Churn"),
}

# Chart geometry (SVG user units); the SVG scales to its container.
CHART_W, CHART_H, PAD_L, PAD_B, PAD_T = 600, 210, 32, 26, 34
MAX_AXIS_LABELS = 4


def _percent(value: Fraction | None) -> str:
    if value is None:
        return "—"
    return formats.number_format(round(float(value) * 100, 1), 1) + " %"


def _show_label(i: int, n: int) -> bool:
    """Label at most ``MAX_AXIS_LABELS`` months, always the latest one, so they never overlap."""
    every = -(-n // MAX_AXIS_LABELS)
    return (n - 1 - i) % every == 0


def _mrr_chart(months, fmt) -> dict:
    """A line of MRR at the end of each month: points, labels, axis max."""
    values = [m.mrr_end for m in months]
    top = max([*values, 1])
    inner_w = CHART_W - 2 * PAD_L
    inner_h = CHART_H - PAD_B - PAD_T
    step = inner_w / max(len(values) - 1, 1)
    points = []
    for i, m in enumerate(months):
        x = PAD_L + (i * step if len(values) > 1 else inner_w / 2)
        y = PAD_T + inner_h - (m.mrr_end / top) * inner_h
        points.append(
            {
                "x": round(x, 1),
                "y": round(y, 1),
                "label": formats.date_format(m.month, "M Y"),
                "show_label": _show_label(i, len(months)),
                "value": fmt(m.mrr_end),
            }
        )
    return {
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "baseline": CHART_H - PAD_B,
        "top_label": fmt(top),
        "top_y": PAD_T,
    }


def _movement_chart(months, fmt) -> dict:
    """Stacked bars per month: gains above the zero line, losses below."""
    ups = [m.new + m.expansion + m.reactivation for m in months]
    downs = [-(m.contraction + m.churn) for m in months]
    scale_max = max([*ups, *downs, 1])
    inner_h = CHART_H - PAD_B - PAD_T
    zero = PAD_T + inner_h / 2
    unit = (inner_h / 2) / scale_max
    slot = (CHART_W - 2 * PAD_L) / max(len(months), 1)
    bar_w = min(48.0, slot * 0.6)
    bars = []
    for i, m in enumerate(months):
        x = PAD_L + i * slot + (slot - bar_w) / 2
        rects = []
        y = zero
        for kind in ("new", "expansion", "reactivation"):
            h = getattr(m, kind) * unit
            if h > 0:
                y -= h
                rects.append({"kind": kind, "y": round(y, 1), "h": round(h, 1)})
        y = zero
        for kind in ("contraction", "churn"):
            h = -getattr(m, kind) * unit
            if h > 0:
                rects.append({"kind": kind, "y": round(y, 1), "h": round(h, 1)})
                y += h
        title = "; ".join(f"{MOVEMENT_LABELS[k]}: {fmt(getattr(m, k))}" for k in MOVEMENT_LABELS)
        bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "cx": round(x + bar_w / 2, 1),
                "rects": rects,
                "label": formats.date_format(m.month, "M Y"),
                "show_label": _show_label(i, len(months)),
                "title": title,
                "net": fmt(m.net),
            }
        )
    return {
        "bars": bars,
        "zero": round(zero, 1),
        "top_label": "+" + fmt(scale_max),
        "bottom_label": fmt(-scale_max),
        "top_y": PAD_T,
        "bottom_y": CHART_H - PAD_B,
    }


class HomeView(StaffView, TemplateView):
    """The staff landing page: the metrics an owner reads every morning, or the next steps
    while the organization has no billing data yet."""

    template_name = "cobro/home.html"

    def get_context_data(self, **kwargs):
        from billing import metrics
        from billing.views.common import format_amount

        context = super().get_context_data(**kwargs)
        org = self.organization
        context["member_count"] = Membership.objects.filter(organization=org).count()
        context["pending_invitations"] = Invitation.objects.filter(
            organization=org, accepted_at__isnull=True
        ).count()
        context["can_manage"] = self.membership.has_perm("manage")
        context["can_manage_members"] = self.membership.has_perm("manage_members")

        period = self.request.GET.get("period", metrics.DEFAULT_PERIOD)
        if period not in metrics.PERIODS:
            period = metrics.DEFAULT_PERIOD
        m = metrics.metrics_for_home(organization=org, period=period)

        def fmt(amount: int) -> str:
            return format_amount(amount, m.currency, org)

        context.update(
            metrics=m,
            period=period,
            periods=[(key, PERIOD_LABELS[key]) for key in metrics.PERIODS],
            fmt_mrr=fmt(m.mrr_minor),
            fmt_arr=fmt(m.arr_minor),
            fmt_arpu=fmt(m.arpu_minor),
            fmt_overdue=fmt(m.overdue_minor),
            fmt_failed=fmt(m.failed_payments_minor),
            fmt_recovered=fmt(m.recovered_minor),
            customer_churn=_percent(m.customer_churn_rate),
            revenue_churn=_percent(m.revenue_churn_rate),
            movements=[
                {"kind": k, "label": MOVEMENT_LABELS[k], "amount": fmt(m.movement_totals[k])}
                for k in metrics.MOVEMENT_KINDS
            ],
            forecasts=[
                {
                    "days": f.days,
                    "expected": fmt(f.expected_minor),
                    "scheduled": fmt(f.scheduled_minor),
                    "collected": fmt(f.collected_past_minor),
                }
                for f in m.forecasts
            ],
            mrr_chart=_mrr_chart(m.months, fmt),
            movement_chart=_movement_chart(m.months, fmt),
            chart_w=CHART_W,
            chart_h=CHART_H,
        )
        return context


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
