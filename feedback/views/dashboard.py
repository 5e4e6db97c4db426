"""Staff pages of feedback: the feedback overview (NPS trend, CSAT, cancellation reasons,
comments with tags and follow-up status), one response (close the loop), survey settings, and
customers at risk of churning.

Reads need "view"; closing the loop needs "bill"; settings need "manage"."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats
from django.utils.translation import gettext as _

from cobro import clock
from cobro.views.base import StaffView
from feedback.error_codes import FeedbackError
from feedback.forms import FeedbackFilterForm, FeedbackSettingsForm, FollowUpForm
from feedback.models import FeedbackSettings, FeedbackTag, SurveyResponse
from feedback.risk import at_risk_customers
from feedback.selectors import (
    cancellation_comments,
    cancellation_reasons,
    csat_average,
    nps_by_month,
    nps_value,
)
from feedback.services.loop import response_follow_up, tags_parse
from feedback.services.surveys import feedback_settings_for

PERIOD_DAYS = {"3m": 91, "6m": 182, "12m": 365}
CHART_W, CHART_H, PAD_L, PAD_B, PAD_T = 600, 210, 40, 26, 20


def nps_chart(months) -> dict:
    """A line of monthly NPS on a fixed -100..100 axis (months without answers are gaps)."""
    inner_w = CHART_W - 2 * PAD_L
    inner_h = CHART_H - PAD_B - PAD_T
    step = inner_w / max(len(months) - 1, 1)
    every = -(-len(months) // 6)

    def y_of(value: int) -> float:
        return round(PAD_T + inner_h * (100 - value) / 200, 1)

    points: list[dict] = []
    segments: list[list[str]] = []
    current: list[str] = []
    for i, m in enumerate(months):
        x = round(PAD_L + i * step, 1)
        label = formats.date_format(m.month, "M Y")
        show = (len(months) - 1 - i) % every == 0
        if m.nps is None:
            if current:
                segments.append(current)
            current = []
            points.append({"x": x, "y": None, "label": label, "show_label": show})
            continue
        y = y_of(m.nps)
        current.append(f"{x},{y}")
        points.append(
            {
                "x": x,
                "y": y,
                "label": label,
                "show_label": show,
                "value": m.nps,
                "responses": m.responses,
            }
        )
    if current:
        segments.append(current)
    return {
        "points": points,
        "polylines": [" ".join(s) for s in segments],
        "zero_y": y_of(0),
        "top_y": y_of(100),
        "bottom_y": y_of(-100),
        "w": CHART_W,
        "h": CHART_H,
    }


class FeedbackView(StaffView):
    unsafe_permission = "bill"

    def perms(self) -> dict:
        return {
            "can_manage": self.membership.has_perm("manage"),
            "can_bill": self.membership.has_perm("bill"),
        }


class HomeView(FeedbackView):
    def get(self, request):
        form = FeedbackFilterForm(request.GET or None, initial={"period": "12m"})
        data = form.cleaned_data if form.is_valid() else {}
        period = data.get("period") or "12m"
        now = clock.now(self.organization)
        since = now - timedelta(days=PERIOD_DAYS[period])
        in_period = SurveyResponse.objects.filter(created_at__gte=since)
        nps, nps_n = nps_value(in_period)
        csat, csat_n = csat_average(in_period)
        reasons, cancellations = cancellation_reasons(since=since)

        comments = in_period.select_related("customer").prefetch_related("tags")
        if data.get("kind"):
            comments = comments.filter(kind=data["kind"])
        if data.get("source"):
            comments = comments.filter(source=data["source"])
        category = data.get("category")
        if category == "detractor":
            comments = comments.filter(kind="nps", score__lte=6)
        elif category == "passive":
            comments = comments.filter(kind="nps", score__in=(7, 8))
        elif category == "promoter":
            comments = comments.filter(kind="nps", score__gte=9)
        elif category == "low_csat":
            comments = comments.filter(kind="csat", score__lte=2)
        if data.get("loop"):
            comments = comments.filter(loop_status=data["loop"])
        if data.get("tag"):
            comments = comments.filter(tags__name=data["tag"].strip().lower()).distinct()
        if data.get("with_comment"):
            comments = comments.exclude(comment="")
        page = Paginator(comments.order_by("-created_at", "-pk"), 25).get_page(
            request.GET.get("page")
        )
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "feedback/home.html",
            {
                "form": form,
                "period": period,
                "nps": nps,
                "nps_n": nps_n,
                "csat": csat,
                "csat_n": csat_n,
                "open_count": in_period.filter(loop_status="open").exclude(comment="").count(),
                "chart": nps_chart(nps_by_month(self.organization, now=now)),
                "reasons": reasons,
                "cancellations": cancellations,
                "cancellation_comments": cancellation_comments(since=since, limit=10),
                "page": page,
                "query": query.urlencode(),
                "tags": FeedbackTag.objects.all(),
                "settings": feedback_settings_for(self.organization),
                **self.perms(),
            },
        )


class ResponseDetailView(FeedbackView):
    def _response(self, pk):
        return get_object_or_404(
            SurveyResponse.objects.select_related("customer", "request").prefetch_related("tags"),
            pk=pk,
        )

    def _render(self, response, form, status=200):
        return render(
            self.request,
            "feedback/response.html",
            {"response": response, "form": form, **self.perms()},
            status=status,
        )

    def get(self, request, pk: int):
        response = self._response(pk)
        form = FollowUpForm(
            initial={
                "loop_status": response.loop_status,
                "loop_note": response.loop_note,
                "tags": ", ".join(t.name for t in response.tags.all()),
            }
        )
        return self._render(response, form)

    def post(self, request, pk: int):
        response = self._response(pk)
        form = FollowUpForm(request.POST)
        if not form.is_valid():
            return self._render(response, form, status=400)
        try:
            tags = tags_parse(form.cleaned_data["tags"])
        except FeedbackError as exc:
            form.add_error("tags", exc.message)
            return self._render(response, form, status=400)
        response_follow_up(
            response=response,
            loop_status=form.cleaned_data["loop_status"],
            note=form.cleaned_data["loop_note"],
            tags=tags,
            actor=request.user,
            request=request,
        )
        messages.success(request, _("Follow-up saved."))
        return redirect("feedback:response", pk=response.pk)


class SettingsView(FeedbackView):
    unsafe_permission = "manage"

    def _instance(self):
        found = FeedbackSettings.objects.first()
        return found or FeedbackSettings(organization=self.organization)

    def _render(self, form, status=200):
        return render(
            self.request,
            "feedback/settings.html",
            {"form": form, **self.perms()},
            status=status,
        )

    def get(self, request):
        return self._render(FeedbackSettingsForm(instance=self._instance()))

    def post(self, request):
        form = FeedbackSettingsForm(request.POST, instance=self._instance())
        if not form.is_valid():
            return self._render(form, status=400)
        from feedback.services.settings import feedback_settings_update

        feedback_settings_update(
            organization=self.organization,
            values=form.cleaned_data,
            actor=request.user,
            request=request,
        )
        messages.success(request, _("Survey settings saved."))
        return redirect("feedback:home")


class AtRiskView(FeedbackView):
    def get(self, request):
        level = request.GET.get("level", "")
        rows = at_risk_customers(self.organization)
        if level in ("high", "medium"):
            rows = [r for r in rows if r[1].level == level]
        return render(
            request,
            "feedback/at_risk.html",
            {"rows": rows, "level": level, **self.perms()},
        )
