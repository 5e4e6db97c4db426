"""Billing runs from the dashboard: "Run billing now" (owners and admins, after a
confirmation: it issues invoices and charges cards) and the progress page shared with the
test-clock advance. The request only queues the run (``billing.services.billing_runs``); the
page polls a small fragment every second (htmx, as CSV exports do) until the summary."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from billing.models import BillingRun, Subscription
from billing.services.billing_runs import (
    billing_run_active,
    billing_run_is_stale,
    billing_run_resume,
    billing_run_start,
)
from billing.views.common import BillingView
from cobro import clock

RECENT_RUNS = 5


class BillingRunStartView(BillingView):
    """GET: what would be billed now, and the confirmation. POST ``confirm=yes``: queue the
    run (or show the one in progress). Owners and admins only."""

    required_permission = "manage"
    unsafe_permission = "manage"

    def get(self, request):
        org = self.organization
        active = billing_run_active(organization=org)
        # What the run would renew: due at the organization's clock (the partial due index).
        due = Subscription.objects.filter(
            next_billing_at__isnull=False, next_billing_at__lte=clock.now(org)
        ).count()
        return render(
            request,
            "billing/runs/start.html",
            {
                **self.perms(),
                "active": active,
                "due": due,
                "now": clock.now(org),
                "recent": BillingRun.objects.select_related("started_by")[:RECENT_RUNS],
            },
        )

    def post(self, request):
        if request.POST.get("confirm") != "yes":
            return redirect("billing:billing_run_start")
        run, started = billing_run_start(
            organization=self.organization, actor=request.user, kind=BillingRun.Kind.MANUAL
        )
        if not started:
            messages.info(request, _("A billing run is already in progress: here it is."))
        return redirect("billing:billing_run_detail", pk=run.pk)


class BillingRunDetailView(BillingView):
    """The progress bar while the run works, then its summary. An htmx request gets only the
    fragment (polled every second while the run is queued or running)."""

    def get(self, request, pk: int):
        run = get_object_or_404(BillingRun.objects.select_related("started_by"), pk=pk)
        failed = []
        if run.failed_subscriptions:
            failed = list(
                Subscription.objects.filter(pk__in=run.failed_subscriptions).select_related(
                    "customer"
                )
            )
        can_resume = (run.status == BillingRun.Status.FAILED or billing_run_is_stale(run)) and (
            self.can("manage") or (run.kind == BillingRun.Kind.TEST_CLOCK and self.can("bill"))
        )
        context = {
            **self.perms(),
            "run": run,
            "stale": billing_run_is_stale(run),
            "can_resume": can_resume,
            "failed": failed,
            "time_zone": self.organization.time_zone,
            "stopped_early": (
                run.kind == BillingRun.Kind.TEST_CLOCK
                and run.status == BillingRun.Status.SUCCEEDED
                and run.position is not None
                and run.target is not None
                and run.position < run.target
            ),
        }
        template = "billing/runs/_progress.html" if request.htmx else "billing/runs/detail.html"
        return render(request, template, context)


class BillingRunResumeView(BillingView):
    """Queue again a failed run or one whose worker stopped reporting. A manual run needs
    owners or admins; a test-clock advance whoever may advance the clock."""

    def get(self, request, pk: int):
        run: BillingRun = get_object_or_404(BillingRun.objects, pk=pk)
        return redirect("billing:billing_run_detail", pk=run.pk)

    def post(self, request, pk: int):
        run: BillingRun = get_object_or_404(BillingRun.objects, pk=pk)
        if run.kind == BillingRun.Kind.MANUAL and not self.can("manage"):
            raise PermissionDenied
        current, resumed = billing_run_resume(run=run, actor=request.user)
        if resumed:
            messages.success(request, _("The billing run was resumed."))
        elif current.pk != run.pk:
            messages.info(request, _("Another billing run is in progress: here it is."))
        else:
            messages.info(request, _("This billing run does not need resuming."))
        return redirect("billing:billing_run_detail", pk=current.pk)
