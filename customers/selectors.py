"""Read side of customers: lists for the dashboard (search, filters, ordering)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from cobro.listing import apply_date_range
from cobro.models import OutboxEvent
from cobro.selectors import kernel_timeline, timeline_entry, timeline_sorted
from customers.models import Customer, CustomerImport

# Public ordering key -> ORDER BY. Encrypted fields (phone, tax id) can't be sorted in SQL.
CUSTOMER_ORDERINGS: dict[str, tuple[str, ...]] = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "email": ("email", "pk"),
    "-email": ("-email", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "city": ("city", "name", "pk"),
    "-city": ("-city", "name", "pk"),
}


def customer_list(
    *,
    search: str = "",
    country: str = "",
    locale: str = "",
    city: str = "",
    ordering: str = "name",
) -> QuerySet[Customer]:
    """Customers of the current organization. ``search`` matches name or email (case- and
    accent-sensitive substring); unknown orderings fall back to name."""
    qs = Customer.objects.all()
    search = search.strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if country:
        qs = qs.filter(country=country)
    if locale:
        qs = qs.filter(locale=locale)
    if city:
        qs = qs.filter(city__iexact=city.strip())
    return qs.order_by(*CUSTOMER_ORDERINGS.get(ordering, CUSTOMER_ORDERINGS["name"]))


def filtered_customers(*, organization, data: dict) -> QuerySet[Customer]:
    """Customers of the list page and its CSV export (``CustomerListFilterForm`` cleaned
    data): search by name or email, country, language, the day they were added (in the
    organization's time zone), a whitelisted sort."""
    qs = customer_list(
        search=data.get("q") or "",
        country=data.get("country") or "",
        locale=data.get("locale") or "",
        ordering=data.get("sort") or "name",
    ).filter(organization=organization)
    return apply_date_range(qs, "created_at", data, organization.time_zone)


def message_entries(messages) -> list[dict]:
    """Timeline entries of messages sent (or skipped) to a customer."""
    return [
        timeline_entry(
            at=m.sent_at or m.created_at,
            kind="message",
            label=_("Email “%(subject)s”") % {"subject": m.subject or m.template_key},
            detail=f"{m.to_address} · {m.get_status_display()}",
        )
        for m in messages
    ]


def customer_timeline(customer: Customer, *, limit: int = 200) -> list[dict]:
    """Everything that happened to a customer, newest first: events about them or carrying
    their id (invoices, payments, subscriptions), staff actions on them, messages sent."""
    from customers.messaging.models import Message

    events = list(
        OutboxEvent.objects.filter(
            Q(subject_type=customer._meta.label_lower, subject_id=str(customer.pk))
            | Q(payload__customer_id=customer.pk)
            | Q(payload__customer_id=str(customer.pk))
        ).order_by("-created_at")[:limit]
    )
    entries = kernel_timeline([customer], events=events)
    entries += message_entries(Message.objects.filter(customer=customer)[:limit])
    return timeline_sorted(entries, limit=limit)


def customer_countries_in_use() -> list[str]:
    """Distinct countries of the current organization's customers, sorted. A skip scan of
    the (organization, country) index: one probe per country, not one row per customer."""
    from django.db import connection

    from cobro.tenancy.context import require_current_organization

    table = Customer._meta.db_table
    sql = f"""
    WITH RECURSIVE c AS (
        (SELECT country FROM {table} WHERE organization_id = %(org)s ORDER BY country LIMIT 1)
        UNION ALL
        SELECT (SELECT country FROM {table} WHERE organization_id = %(org)s
                AND country > c.country ORDER BY country LIMIT 1)
        FROM c WHERE c.country IS NOT NULL
    )
    SELECT country FROM c WHERE country IS NOT NULL
    """  # noqa: S608 (table name from model meta)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"org": require_current_organization().pk})
        return [row[0] for row in cursor.fetchall()]


def customer_import_list(*, limit: int = 10) -> QuerySet[CustomerImport]:
    return CustomerImport.objects.select_related("created_by").order_by("-created_at", "-pk")[
        :limit
    ]
