"""CSV exports of the staff lists: what the list shows with the same filters, streamed row by
row (a million invoices never sit in memory)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils.translation import gettext as _

from billing.forms import InvoiceFilterForm
from billing.selectors import filtered_invoices
from billing.views.common import BillingView
from cobro import clock
from cobro.money import Money
from cobro.tenancy.context import use_organization

EXPORT_CHUNK = 2000
# Spreadsheets run cells that start like a formula; a leading apostrophe keeps them text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """The file-like object ``csv.writer`` needs: returns each line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _safe(value: str) -> str:
    return "'" + value if value and value.startswith(_FORMULA_START) else value


INVOICE_COLUMNS = (
    "number",
    "status",
    "customer__name",
    "customer__email",
    "currency",
    "subtotal_minor",
    "discount_minor",
    "tax_minor",
    "total_minor",
    "amount_paid_minor",
    "amount_due_minor",
    "created_at",
    "issued_at",
    "due_at",
    "paid_at",
)
_AMOUNT_COLUMNS = {c for c in INVOICE_COLUMNS if c.endswith("_minor")}
_DATE_COLUMNS = {"created_at", "issued_at", "due_at", "paid_at"}


def _invoice_rows(*, organization, queryset) -> Iterator[list[str]]:
    tz = ZoneInfo(organization.time_zone)
    yield [
        _("Number"),
        _("Status"),
        _("Customer"),
        _("Email"),
        _("Currency"),
        _("Subtotal"),
        _("Discount"),
        _("Tax"),
        _("Total"),
        _("Amount paid"),
        _("Amount due"),
        _("Created"),
        _("Issued"),
        _("Due"),
        _("Paid"),
    ]
    with use_organization(organization):
        for row in queryset.values(*INVOICE_COLUMNS).iterator(chunk_size=EXPORT_CHUNK):
            out = []
            for col in INVOICE_COLUMNS:
                value = row[col]
                if col in _AMOUNT_COLUMNS:
                    # Major units with a dot, exact for the currency's exponent (CLP 0, USD 2).
                    out.append(str(Money(int(value), row["currency"]).to_decimal()))
                elif col in _DATE_COLUMNS:
                    out.append(value.astimezone(tz).isoformat() if value else "")
                else:
                    out.append(_safe(str(value or "")))
            yield out


class InvoiceExportView(BillingView):
    """``GET`` with the list's filters -> ``invoices-<org>-<date>.csv``, streamed."""

    def get(self, request):
        form = InvoiceFilterForm(request.GET or None)
        if request.GET and not form.is_valid():
            errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
            return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
        data = form.cleaned_data if form.is_bound else {}
        org = self.organization
        queryset = filtered_invoices(organization=org, data=data)
        writer = csv.writer(_Echo())
        lines = (writer.writerow(row) for row in _invoice_rows(organization=org, queryset=queryset))
        stamp = clock.local_now(org).strftime("%Y%m%d")
        response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="invoices-{org.slug}-{stamp}.csv"'
        return response


def _with_bom(lines: Iterator[str]) -> Iterator[str]:
    # A byte-order mark makes spreadsheet apps read the file as UTF-8 (names with accents).
    yield "\ufeff"
    yield from lines
