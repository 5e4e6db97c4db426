"""Staff pages of invoices: list, detail, finalize, void, mark uncollectible, mark paid,
credit notes (full or partial) and one-off invoices with manual items. Reading needs "view";
every action needs "bill" and goes through a confirmation step."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.error_codes import BillingError, BillingErrorCode
from billing.forms import (
    CreditNoteForm,
    InvoiceItemFormSet,
    OneOffInvoiceForm,
    parse_major_amount,
)
from billing.list_filters import InvoiceListFilterForm
from billing.models import CreditNote, Invoice, InvoiceLine, InvoiceStatus
from billing.selectors import filtered_invoices
from billing.services.invoice_reminders import invoice_is_overdue
from billing.services.invoices import (
    CreditItem,
    ManualItem,
    credit_note_issue,
    invoice_create_one_off,
    invoice_creditable_minor,
    invoice_finalize,
    invoice_mark_paid,
    invoice_mark_uncollectible,
    invoice_void,
)
from billing.views.bulk import BULK_ACTIONS
from billing.views.common import BillingView, add_billing_error, format_amount
from billing.views.timelines import invoice_timeline
from cobro import clock
from cobro.listing import paginate

IS = InvoiceStatus


def _get_invoice(pk: int) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("customer", "subscription", "coupon", "organization"),
        pk=pk,
    )


def invoice_actions(invoice: Invoice) -> dict[str, bool]:
    return {
        "finalize": invoice.status == IS.DRAFT,
        "void": invoice.status in (IS.DRAFT, IS.OPEN, IS.UNCOLLECTIBLE)
        and not invoice.amount_paid_minor,
        "uncollectible": invoice.status == IS.OPEN,
        "mark_paid": invoice.status in (IS.OPEN, IS.UNCOLLECTIBLE),
        "credit_note": invoice.status in (IS.OPEN, IS.PAID)
        and invoice_creditable_minor(invoice) > 0,
    }


class InvoiceListView(BillingView):
    def get(self, request):
        form = InvoiceListFilterForm(request.GET or None, organization=self.organization)
        invoices = filtered_invoices(organization=self.organization, data=form.filters())
        page = paginate(invoices.select_related("customer"), request.GET.get("page"))
        now = clock.now(self.organization)
        for inv in page.object_list:
            # Every row is this organization's: its time zone without a query per row.
            inv.organization = self.organization
            inv.is_overdue = invoice_is_overdue(inv, now=now)
        return render(
            request,
            "billing/invoices/list.html",
            {
                **self.perms(),
                "form": form,
                "page": page,
                "filtered": form.is_filtered(),
                "bulk_actions": BULK_ACTIONS,
            },
        )


class InvoiceDetailView(BillingView):
    def get(self, request, pk: int):
        invoice = _get_invoice(pk)
        lines = list(InvoiceLine.objects.filter(invoice=invoice).select_related("tax_rate"))
        credit_notes = list(CreditNote.objects.filter(invoice=invoice).order_by("issued_at", "pk"))
        return render(
            request,
            "billing/invoices/detail.html",
            {
                **self.perms(),
                "invoice": invoice,
                "lines": lines,
                "taxes": invoice.taxes.all(),
                "exclusive_taxes": [t for t in invoice.taxes.all() if not t.inclusive],
                "credit_notes": credit_notes,
                "credited_to_invoice": sum(cn.applied_to_invoice_minor for cn in credit_notes),
                "creditable_minor": invoice_creditable_minor(invoice),
                "actions": invoice_actions(invoice),
                "is_overdue": invoice_is_overdue(invoice, now=clock.now(self.organization)),
                "timeline": invoice_timeline(invoice, organization=self.organization),
            },
        )


class _InvoiceActionView(BillingView):
    """A confirmation page (GET) and the action (POST). Refusals are shown as messages."""

    required_permission = "bill"
    title: Any = ""
    explanation: Any = ""
    submit_label: Any = ""
    danger = False

    def perform(self, invoice: Invoice) -> str:
        raise NotImplementedError

    def explain(self, invoice: Invoice) -> Any:
        return self.explanation

    def get(self, request, pk: int):
        invoice = _get_invoice(pk)
        return render(
            request,
            "billing/confirm.html",
            {
                "title": self.title,
                "body": self.explain(invoice),
                "subject": _("Invoice %(number)s · %(customer)s · %(total)s")
                % {
                    "number": invoice.number or _("draft"),
                    "customer": invoice.customer.name,
                    "total": format_amount(
                        invoice.amount_due_minor, invoice.currency, self.organization
                    ),
                },
                "confirm_label": self.submit_label,
                "danger": self.danger,
                "cancel_url": reverse("billing:invoice_detail", kwargs={"pk": invoice.pk}),
            },
        )

    def post(self, request, pk: int):
        invoice = _get_invoice(pk)
        try:
            message = self.perform(invoice)
        except BillingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
        return redirect("billing:invoice_detail", pk=invoice.pk)


class InvoiceFinalizeView(_InvoiceActionView):
    title = gettext_lazy("Issue this invoice?")
    explanation = gettext_lazy(
        "It gets the next invoice number and can no longer be changed; corrections are made "
        "with credit notes. Any credit balance of the customer is applied."
    )
    submit_label = gettext_lazy("Issue invoice")

    def perform(self, invoice):
        invoice = invoice_finalize(invoice=invoice)
        return _("Invoice %(number)s issued.") % {"number": invoice.number}


class InvoiceVoidView(_InvoiceActionView):
    title = gettext_lazy("Void this invoice?")
    explanation = gettext_lazy(
        "The customer no longer owes it. Its number stays used, and any credit applied to it "
        "returns to the customer's balance. This cannot be undone."
    )
    submit_label = gettext_lazy("Void invoice")
    danger = True

    def explain(self, invoice):
        if invoice.status == IS.DRAFT:
            return _(
                "The draft is discarded: it was never issued, so it takes no number and the "
                "customer is not told. This cannot be undone."
            )
        return self.explanation

    def perform(self, invoice):
        invoice_void(invoice=invoice)
        return _("Invoice voided.")


class InvoiceUncollectibleView(_InvoiceActionView):
    title = gettext_lazy("Mark as uncollectible?")
    explanation = gettext_lazy(
        "Use it for a debt you don't expect to collect. Payment attempts stop; you can still "
        "mark it paid or void it later."
    )
    submit_label = gettext_lazy("Mark uncollectible")
    danger = True

    def perform(self, invoice):
        invoice_mark_uncollectible(invoice=invoice)
        return _("Invoice marked as uncollectible.")


class InvoiceMarkPaidView(_InvoiceActionView):
    title = gettext_lazy("Record a payment for the whole amount due?")
    explanation = gettext_lazy(
        "For payments received outside Cobro (bank transfer, cash). The invoice becomes paid."
    )
    submit_label = gettext_lazy("Mark paid")

    def perform(self, invoice):
        invoice_mark_paid(invoice=invoice)
        return _("Invoice marked as paid.")


class CreditNoteCreateView(BillingView):
    required_permission = "bill"

    def get(self, request, pk: int):
        invoice = _get_invoice(pk)
        creditable = invoice_creditable_minor(invoice)
        form = CreditNoteForm(invoice=invoice, creditable_minor=creditable)
        return self._render(invoice, form, creditable)

    def post(self, request, pk: int):
        invoice = _get_invoice(pk)
        creditable = invoice_creditable_minor(invoice)
        form = CreditNoteForm(request.POST, invoice=invoice, creditable_minor=creditable)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            items = None
            if form.cleaned_data["kind"] == CreditNoteForm.KIND_PARTIAL:
                items = [
                    CreditItem(
                        description=reason or _("Partial credit"),
                        amount_minor=form.cleaned_data["amount_minor"],
                        **_partial_tax(invoice),
                    )
                ]
            try:
                note = credit_note_issue(invoice=invoice, items=items, reason=reason)
            except BillingError as exc:
                add_billing_error(form, exc, {BillingErrorCode.AMOUNT_NOT_POSITIVE: "amount"})
            else:
                messages.success(
                    request,
                    _("Credit note %(number)s issued for %(amount)s.")
                    % {
                        "number": note.number,
                        "amount": format_amount(note.total_minor, note.currency, self.organization),
                    },
                )
                return redirect("billing:invoice_detail", pk=invoice.pk)
        return self._render(invoice, form, creditable, status=400)

    def _render(self, invoice, form, creditable, status=200):
        return render(
            self.request,
            "billing/invoices/credit_note_form.html",
            {
                **self.perms(),
                "invoice": invoice,
                "form": form,
                "creditable_minor": creditable,
                "full_possible": creditable == invoice.total_minor,
            },
            status=status,
        )


def _partial_tax(invoice: Invoice) -> dict:
    """A partial credit (tax included) carries the invoice's tax when it has a single rate,
    so the credit note shows the tax it gives back; otherwise it is credited untaxed."""
    rates = {
        ln.tax_rate_id
        for ln in InvoiceLine.objects.filter(invoice=invoice).select_related("tax_rate")
    }
    if len(rates) == 1 and None not in rates:
        line = InvoiceLine.objects.filter(invoice=invoice).select_related("tax_rate").first()
        assert line is not None
        if line.tax_rate is not None and line.tax_rate.active:
            return {"tax_rate": line.tax_rate, "tax_inclusive": True}
    return {}


class OneOffInvoiceCreateView(BillingView):
    required_permission = "bill"

    def get(self, request):
        initial = {}
        if request.GET.get("customer", "").isdigit():
            initial["customer"] = int(request.GET["customer"])
        form = OneOffInvoiceForm(initial=initial, organization=self.organization)
        return self._render(form, InvoiceItemFormSet(prefix="items"))

    def post(self, request):
        form = OneOffInvoiceForm(request.POST, organization=self.organization)
        formset = InvoiceItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            items = self._items(form.cleaned_data["currency"], formset)
            if items is None:
                pass
            elif not items:
                form.add_error(None, _("Add at least one item with a description and amount."))
            else:
                try:
                    invoice = invoice_create_one_off(
                        customer=form.cleaned_data["customer"],
                        currency=form.cleaned_data["currency"],
                        items=items,
                        collection_method=form.cleaned_data["collection_method"],
                        memo=form.cleaned_data["memo"],
                        finalize=form.cleaned_data["finalize"],
                    )
                except BillingError as exc:
                    add_billing_error(form, exc, {BillingErrorCode.AMOUNT_NOT_POSITIVE: None})
                else:
                    if invoice.number:
                        msg = _("Invoice %(number)s issued.") % {"number": invoice.number}
                    else:
                        msg = _("Draft invoice saved. Issue it when it is ready.")
                    messages.success(request, msg)
                    return redirect("billing:invoice_detail", pk=invoice.pk)
        return self._render(form, formset, status=400)

    @staticmethod
    def _items(currency, formset) -> list[ManualItem] | None:
        """Parse the filled rows; errors go on the row's fields (None when any)."""
        items: list[ManualItem] = []
        ok = True
        for row in formset.forms:
            d = row.cleaned_data
            if not d or row.is_blank():
                continue
            if not d.get("description"):
                row.add_error("description", _("Describe the item."))
                ok = False
                continue
            if not d.get("unit_amount"):
                row.add_error("unit_amount", _("Enter the amount."))
                ok = False
                continue
            try:
                amount = parse_major_amount(d["unit_amount"], currency)
            except ValidationError as exc:
                row.add_error("unit_amount", exc)
                ok = False
                continue
            if amount <= 0:
                row.add_error("unit_amount", _("The amount must be greater than zero."))
                ok = False
                continue
            items.append(
                ManualItem(
                    description=d["description"],
                    unit_amount_minor=amount,
                    quantity=d.get("quantity") or 1,
                    tax_rate=d.get("tax_rate"),
                )
            )
        return items if ok else None

    def _render(self, form, formset, status=200):
        return render(
            self.request,
            "billing/invoices/one_off_form.html",
            {**self.perms(), "form": form, "formset": formset},
            status=status,
        )
