"""The test clock of a sandbox organization: see its time, advance it, see what was billed."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing.error_codes import BillingError, BillingErrorCode
from billing.forms import TestClockForm
from billing.models import BillingRun, Invoice
from billing.services.billing_runs import billing_run_active, billing_run_start
from billing.views.common import BillingView, add_billing_error
from cobro import clock
from cobro.models import Organization


def _advance_service():
    """``billing.services.test_clock.test_clock_advance`` (None while it is not installed)."""
    try:
        from billing.services.test_clock import test_clock_advance
    except ImportError:
        return None
    return test_clock_advance


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class TestClockView(BillingView):
    __test__ = False  # not a pytest class

    def get(self, request):
        org = self.organization
        now = clock.now(org)
        form = TestClockForm(organization=org)
        return self._render(form, now)

    def post(self, request):
        """Queue the advance as a background billing run and show its progress page; the
        request never bills (a year of a large sandbox can take minutes)."""
        org = Organization.objects.get(pk=self.organization.pk)
        if not org.is_sandbox:
            raise PermissionDenied
        before = clock.now(org)
        form = TestClockForm(request.POST, organization=org)
        if _advance_service() is None:
            form.add_error(None, _("The test clock is not available yet."))
        elif form.is_valid():
            target = form.cleaned_data["to"]
            if target <= before:
                form.add_error("to", _("The test clock only moves forward."))
            else:
                try:
                    run, started = billing_run_start(
                        organization=org,
                        actor=request.user,
                        kind=BillingRun.Kind.TEST_CLOCK,
                        target=target,
                    )
                except BillingError as exc:
                    add_billing_error(form, exc, {BillingErrorCode.INVALID_DATE: "to"})
                else:
                    if not started:
                        messages.info(
                            request,
                            _(
                                "A billing run is already in progress: here it is. Advance the "
                                "clock again when it ends."
                            ),
                        )
                    return redirect("billing:billing_run_detail", pk=run.pk)
        return self._render(form, before, status=400)

    def _render(self, form, now, status=200):
        org = self.organization
        start = _parse(self.request.GET.get("from"))
        end = _parse(self.request.GET.get("to"))
        billed = []
        if start and end:
            billed = list(
                Invoice.objects.filter(created_at__gt=start, created_at__lte=end)
                .select_related("customer", "subscription")
                .order_by("created_at", "pk")[:500]
            )
        return render(
            self.request,
            "billing/test_clock.html",
            {
                **self.perms(),
                "form": form,
                "now": now,
                "is_sandbox": org.is_sandbox,
                "available": _advance_service() is not None,
                "billed": billed,
                "billed_from": start,
                "billed_to": end,
                "time_zone": org.time_zone,
                "active_run": billing_run_active(organization=org),
            },
            status=status,
        )
