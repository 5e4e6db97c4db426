"""CSV exports of the billing staff lists: what the list shows with the same filters (through
the same selector), streamed row by row; a large set becomes a background job with a progress
bar (``cobro.exports``). Amounts are major units with a dot, exact for the currency's exponent
(CLP 0, USD 2); dates are ISO 8601 in the organization's time zone."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from billing.list_filters import InvoiceListFilterForm, SubscriptionListFilterForm
from billing.selectors import filtered_invoices, filtered_subscriptions
from billing.views.common import BillingView
from cobro.exports import Column, ExportSpec, export_respond
from cobro.listing import csv_date
from cobro.money import Money


def _major(amount_minor, currency) -> str:
    return str(Money(int(amount_minor or 0), currency).to_decimal())


def _amount(attr: str):
    return lambda obj, tz: _major(getattr(obj, attr), obj.currency)


def _date(attr: str):
    return lambda obj, tz: csv_date(getattr(obj, attr), tz)


INVOICE_EXPORT = ExportSpec(
    key="invoices",
    path="billing.views.exports.INVOICE_EXPORT",
    form=InvoiceListFilterForm,
    queryset=lambda org, data: filtered_invoices(organization=org, data=data).select_related(
        "customer"
    ),
    columns=(
        Column(_("Number"), lambda i, tz: i.number or ""),
        Column(_("Status"), lambda i, tz: i.status),
        Column(_("Customer"), lambda i, tz: i.customer.name),
        Column(_("Email"), lambda i, tz: i.customer.email),
        Column(_("Currency"), lambda i, tz: i.currency),
        Column(_("Subtotal"), _amount("subtotal_minor")),
        Column(_("Discount"), _amount("discount_minor")),
        Column(_("Tax"), _amount("tax_minor")),
        Column(_("Total"), _amount("total_minor")),
        Column(_("Amount paid"), _amount("amount_paid_minor")),
        Column(_("Amount due"), _amount("amount_due_minor")),
        Column(_("Created"), _date("created_at")),
        Column(_("Issued"), _date("issued_at")),
        Column(_("Due"), _date("due_at")),
        Column(_("Paid"), _date("paid_at")),
    ),
)

SUBSCRIPTION_EXPORT = ExportSpec(
    key="subscriptions",
    path="billing.views.exports.SUBSCRIPTION_EXPORT",
    form=SubscriptionListFilterForm,
    queryset=lambda org, data: filtered_subscriptions(organization=org, data=data).select_related(
        "customer", "price__product"
    ),
    columns=(
        Column(_("Id"), lambda s, tz: s.pk),
        Column(_("Customer"), lambda s, tz: s.customer.name),
        Column(_("Email"), lambda s, tz: s.customer.email),
        Column(_("Product"), lambda s, tz: s.price.product.name),
        Column(_("Price"), lambda s, tz: s.price.nickname),
        Column(_("Quantity"), lambda s, tz: s.quantity),
        Column(_("Currency"), lambda s, tz: s.currency),
        Column(_("Unit amount"), lambda s, tz: _major(s.price.amount_minor, s.currency)),
        Column(_("Status"), lambda s, tz: s.status),
        Column(_("Cancels at period end"), lambda s, tz: "yes" if s.cancel_at_period_end else ""),
        Column(_("Started"), _date("started_at")),
        Column(_("Current period start"), _date("current_period_start")),
        Column(_("Current period end"), _date("current_period_end")),
        Column(_("Next invoice"), _date("next_billing_at")),
        Column(_("Canceled"), _date("canceled_at")),
    ),
)


class InvoiceExportView(BillingView):
    """``GET`` with the list's filters -> ``invoices-<org>-<date>.csv``."""

    def get(self, request):
        return export_respond(request, spec=INVOICE_EXPORT, organization=self.organization)


class SubscriptionExportView(BillingView):
    def get(self, request):
        return export_respond(request, spec=SUBSCRIPTION_EXPORT, organization=self.organization)
