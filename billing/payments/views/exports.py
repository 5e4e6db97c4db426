"""CSV export of the staff payment list: the same filters and selector as the page."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from billing.payments.list_filters import PaymentListFilterForm
from billing.payments.selectors import filtered_payments
from billing.views.common import BillingView
from cobro.exports import Column, ExportSpec, export_respond
from cobro.listing import csv_date
from cobro.money import Money


def _major(amount_minor, currency) -> str:
    return str(Money(int(amount_minor or 0), currency).to_decimal())


PAYMENT_EXPORT = ExportSpec(
    key="payments",
    path="billing.payments.views.exports.PAYMENT_EXPORT",
    form=PaymentListFilterForm,
    queryset=lambda org, data: filtered_payments(organization=org, data=data).select_related(
        "invoice", "customer"
    ),
    columns=(
        Column(_("Id"), lambda a, tz: a.pk),
        Column(_("Created"), lambda a, tz: csv_date(a.created_at, tz)),
        Column(_("Completed"), lambda a, tz: csv_date(a.completed_at, tz)),
        Column(_("Customer"), lambda a, tz: a.customer.name),
        Column(_("Email"), lambda a, tz: a.customer.email),
        Column(_("Invoice"), lambda a, tz: a.invoice.number or ""),
        Column(_("Attempt"), lambda a, tz: a.attempt_number),
        Column(_("Trigger"), lambda a, tz: a.trigger),
        Column(_("Gateway"), lambda a, tz: a.gateway),
        Column(_("Status"), lambda a, tz: a.status),
        Column(_("Currency"), lambda a, tz: a.currency),
        Column(_("Amount"), lambda a, tz: _major(a.amount_minor, a.currency)),
        Column(_("Refunded"), lambda a, tz: _major(a.refunded_minor, a.currency)),
        Column(_("Decline code"), lambda a, tz: a.decline_code),
        Column(_("Gateway reference"), lambda a, tz: a.gateway_reference),
    ),
)


class PaymentExportView(BillingView):
    def get(self, request):
        return export_respond(request, spec=PAYMENT_EXPORT, organization=self.organization)
