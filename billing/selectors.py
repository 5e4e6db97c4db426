"""Read-only queries of the billing app shared by pages and exports."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from billing.models import Invoice


def filtered_invoices(*, organization, data: dict):
    """Invoices of the list page with its filters (``InvoiceFilterForm`` cleaned data)."""
    invoices = Invoice.objects.filter(organization=organization)
    if data.get("status"):
        invoices = invoices.filter(status=data["status"])
    q = (data.get("q") or "").strip()
    if q:
        invoices = invoices.filter(
            Q(customer__name__icontains=q)
            | Q(customer__email__icontains=q)
            | Q(number__icontains=q)
        )
    tz = ZoneInfo(organization.time_zone)
    if data.get("date_from"):
        invoices = invoices.filter(
            created_at__gte=datetime.combine(data["date_from"], time(0), tzinfo=tz)
        )
    if data.get("date_to"):
        end = datetime.combine(data["date_to"] + timedelta(days=1), time(0), tzinfo=tz)
        invoices = invoices.filter(created_at__lt=end)
    return invoices.order_by("-created_at", "-pk")
