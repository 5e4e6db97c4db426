"""Read-only queries of the billing app shared by pages and exports.

Each ``filtered_*`` function takes the cleaned data of its list's filter form
(``billing.list_filters``) and returns the ordered queryset both the page and the CSV export
use, so an export holds exactly what the list shows.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from billing.models import Invoice, InvoiceLine, InvoiceStatus, InvoiceTax, Subscription
from cobro import clock
from cobro.listing import apply_date_range, apply_sort
from cobro.models.base import ScopedSelect

INVOICE_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "number": ("sequence_number", "pk"),
    "-number": ("-sequence_number", "-pk"),
    "due": ("due_at", "pk"),
    "-due": ("-due_at", "-pk"),
    "total": ("total_minor", "pk"),
    "-total": ("-total_minor", "-pk"),
    "amount_due": ("amount_due_minor", "pk"),
    "-amount_due": ("-amount_due_minor", "-pk"),
}
INVOICE_DATE_COLUMNS = {
    "created": "created_at",
    "issued": "issued_at",
    "due": "due_at",
    "paid": "paid_at",
}
SUBSCRIPTION_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "next_billing": ("next_billing_at", "pk"),
    "-next_billing": ("-next_billing_at", "-pk"),
    "started": ("started_at", "pk"),
    "-started": ("-started_at", "-pk"),
}


def _amount_range(qs: QuerySet, column: str, data: dict, currency_column: str) -> QuerySet:
    if data.get("currency"):
        qs = qs.filter(**{currency_column: data["currency"]})
    if data.get("amount_min_minor") is not None or data.get("amount_max_minor") is not None:
        qs = qs.filter(**{currency_column: data["amount_currency"]})
        if data.get("amount_min_minor") is not None:
            qs = qs.filter(**{f"{column}__gte": data["amount_min_minor"]})
        if data.get("amount_max_minor") is not None:
            qs = qs.filter(**{f"{column}__lte": data["amount_max_minor"]})
    return qs


def overdue_invoices(*, organization, now=None) -> QuerySet[Invoice]:
    """Open invoices whose due date has passed (amount still owed): due before the start of
    today in the organization's time zone."""
    tz = ZoneInfo(organization.time_zone)
    today = (now or clock.now(organization)).astimezone(tz).date()
    return Invoice.objects.filter(
        organization=organization,
        status=InvoiceStatus.OPEN,
        due_at__lt=datetime.combine(today, time(0), tzinfo=tz),
        amount_due_minor__gt=0,
    )


def filtered_invoices(*, organization, data: dict) -> QuerySet[Invoice]:
    """Invoices of the list page with its filters (``InvoiceListFilterForm`` cleaned data):
    search (customer name/email, number), status, overdue, a date range on the chosen date
    (created, issued, due, paid; whole days in the organization's time zone), currency and
    amount range on the total, and a whitelisted sort."""
    if data.get("overdue"):
        invoices = overdue_invoices(organization=organization)
    else:
        invoices = Invoice.objects.filter(organization=organization)
    if data.get("ids"):  # the rows selected on the list (bulk export)
        invoices = invoices.filter(pk__in=data["ids"])
    if data.get("status"):
        invoices = invoices.filter(status=data["status"])
    q = (data.get("q") or "").strip()
    if q:
        invoices = invoices.filter(
            Q(customer__name__icontains=q)
            | Q(customer__email__icontains=q)
            | Q(number__icontains=q)
        )
    column = INVOICE_DATE_COLUMNS.get(data.get("date_field") or "created", "created_at")
    invoices = apply_date_range(invoices, column, data, organization.time_zone)
    invoices = _amount_range(invoices, "total_minor", data, "currency")
    return apply_sort(invoices, INVOICE_SORTS, data.get("sort") or "-created")


def filtered_subscriptions(*, organization, data: dict) -> QuerySet[Subscription]:
    """Subscriptions of the list page (``SubscriptionListFilterForm`` cleaned data): search by
    customer, status, plan (price), start date range, currency and price amount range."""
    subs = Subscription.objects.filter(organization=organization)
    if data.get("status"):
        subs = subs.filter(status=data["status"])
    if data.get("plan"):
        subs = subs.filter(price_id=data["plan"])
    q = (data.get("q") or "").strip()
    if q:
        subs = subs.filter(Q(customer__name__icontains=q) | Q(customer__email__icontains=q))
    subs = apply_date_range(subs, "started_at", data, organization.time_zone)
    subs = _amount_range(subs, "price__amount_minor", data, "currency")
    return apply_sort(subs, SUBSCRIPTION_SORTS, data.get("sort") or "-created")


# -- the API's invoice reads (its hottest path: SQL written once, see ScopedSelect) ------------

_INVOICE_BY_ID = ScopedSelect(Invoice, '"id" = %s')
# In the models' Meta.ordering.
_LINES_OF = ScopedSelect(InvoiceLine, '"invoice_id" = ANY(%s)', ("invoice_id", "position", "pk"))
_TAXES_OF = ScopedSelect(InvoiceTax, '"invoice_id" = ANY(%s)', ("invoice_id", "pk"))


def invoice_by_id(*, invoice_id: int) -> Invoice | None:
    """The current organization's invoice ``invoice_id`` (None: no such invoice here)."""
    rows = _INVOICE_BY_ID.fetch(invoice_id)
    return rows[0] if rows else None


def invoice_lines_and_taxes(*, invoice_ids: list[int]) -> tuple[dict[int, list], dict[int, list]]:
    """The lines and the tax rows of the current organization's invoices ``invoice_ids``, by
    invoice id, each list in the models' order (two queries whatever the number of invoices).
    Rows are read-only named tuples with the models' attribute names, for output only."""
    lines: dict[int, list] = {pk: [] for pk in invoice_ids}
    taxes: dict[int, list] = {pk: [] for pk in invoice_ids}
    if invoice_ids:
        for line in _LINES_OF.fetch_rows(list(invoice_ids)):
            lines[line.invoice_id].append(line)
        for tax in _TAXES_OF.fetch_rows(list(invoice_ids)):
            taxes[tax.invoice_id].append(tax)
    return lines, taxes
