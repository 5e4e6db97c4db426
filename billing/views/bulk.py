"""Bulk actions of the invoice list: send a reminder to the selected overdue invoices, void the
selected drafts, export the selected invoices as CSV.

Reminders send email and voids cannot be undone, so they go through two steps. Step 1 (POST
from the list): a confirmation page says, row by row, what will happen and what will be
skipped and why. Step 2 (POST ``confirm``): each row is done in its own transaction by the
same service as the single action; a row that fails does not stop the others, and the
summary lists every row's outcome. The export changes nothing and answers at once with the
file (the list's export columns). Needs the "bill" permission (the URL refuses viewers).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.error_codes import BillingError
from billing.models import Invoice, InvoiceStatus
from billing.services.invoice_reminders import invoice_is_overdue, invoice_reminder_send
from billing.services.invoices import invoice_void
from billing.views.common import BillingView
from billing.views.exports import INVOICE_EXPORT
from cobro import clock
from cobro.listing import csv_response

MAX_SELECTED = 200

BULK_ACTIONS = {
    "remind": gettext_lazy("Send payment reminder"),
    "void_drafts": gettext_lazy("Void selected drafts"),
    "export": gettext_lazy("Export selected (CSV)"),
}


@dataclass
class Row:
    invoice: Invoice | None
    pk: int
    ok: bool
    message: str


def _eligibility(action: str, invoice: Invoice, now) -> str:
    """Why ``action`` would skip ``invoice`` ("" when it applies)."""
    if action == "void_drafts":
        if invoice.status != InvoiceStatus.DRAFT:
            return _("Not a draft (issued invoices are voided one by one from their page).")
        return ""
    if not invoice_is_overdue(invoice, now=now):
        return _("Not overdue (only open invoices past their due date get reminders).")
    if not invoice.customer.email:
        return _("The customer has no email address.")
    return ""


class InvoiceBulkView(BillingView):
    required_permission = "bill"

    def get(self, request):
        return redirect("billing:invoice_list")

    def _back(self, request) -> str:
        back = request.POST.get("back") or ""
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return back
        return reverse("billing:invoice_list")

    def post(self, request):
        action = request.POST.get("action", "")
        back = self._back(request)
        ids: list[int] = []
        for raw in request.POST.getlist("ids"):
            if raw.isdigit() and int(raw) not in ids:
                ids.append(int(raw))
        if action not in BULK_ACTIONS:
            messages.error(request, _("Choose what to do with the selected invoices."))
            return redirect(back)
        if not ids:
            messages.error(request, _("Select at least one invoice."))
            return redirect(back)
        if len(ids) > MAX_SELECTED:
            messages.error(
                request,
                _("Select at most %(max)s invoices at a time.") % {"max": MAX_SELECTED},
            )
            return redirect(back)
        if action == "export":
            return csv_response(
                filename=INVOICE_EXPORT.filename(self.organization),
                rows=INVOICE_EXPORT.rows(
                    organization=self.organization, filters={"ids": ids, "sort": "-created"}
                ),
            )
        found = {
            inv.pk: inv for inv in Invoice.objects.filter(pk__in=ids).select_related("customer")
        }
        now = clock.now(self.organization)
        if request.POST.get("confirm") != "yes":
            rows = []
            for pk in ids:
                inv = found.get(pk)
                if inv is None:
                    rows.append(Row(None, pk, False, _("Invoice not found.")))
                    continue
                reason = _eligibility(action, inv, now)
                rows.append(Row(inv, pk, not reason, reason))
            return render(
                request,
                "billing/invoices/bulk_confirm.html",
                {
                    **self.perms(),
                    "action": action,
                    "action_label": BULK_ACTIONS[action],
                    "rows": rows,
                    "applicable": [r for r in rows if r.ok],
                    "back": back,
                },
            )
        results = [self._perform(action, pk, found.get(pk), now) for pk in ids]
        done = sum(1 for r in results if r.ok)
        return render(
            request,
            "billing/invoices/bulk_result.html",
            {
                **self.perms(),
                "action": action,
                "action_label": BULK_ACTIONS[action],
                "rows": results,
                "done": done,
                "failed": len(results) - done,
                "back": back,
            },
        )

    def _perform(self, action: str, pk: int, invoice: Invoice | None, now) -> Row:
        if invoice is None:
            return Row(None, pk, False, _("Invoice not found."))
        reason = _eligibility(action, invoice, now)
        if reason:
            return Row(invoice, pk, False, reason)
        if action == "void_drafts":
            try:
                invoice_void(invoice=invoice, now=now)
            except BillingError as exc:  # finalized or voided meanwhile
                return Row(invoice, pk, False, exc.message)
            return Row(invoice, pk, True, _("Draft voided; it never took a number."))
        try:
            message = invoice_reminder_send(
                invoice=invoice, actor=self.request.user, request=self.request, now=now
            )
        except BillingError as exc:
            return Row(invoice, pk, False, exc.message)
        return Row(
            invoice, pk, True, _("Reminder queued to %(email)s.") % {"email": message.to_address}
        )
