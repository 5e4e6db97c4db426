"""Read side of customers: lists for the dashboard (search, filters, ordering)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

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


def customer_countries_in_use() -> list[str]:
    return list(Customer.objects.order_by("country").values_list("country", flat=True).distinct())


def customer_import_list(*, limit: int = 10) -> QuerySet[CustomerImport]:
    return CustomerImport.objects.select_related("created_by").order_by("-created_at", "-pk")[
        :limit
    ]
