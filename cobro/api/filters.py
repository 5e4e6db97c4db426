"""Filter sets of the API. Every filter is declared explicitly: django-filter would otherwise
resolve model fields through the default manager, which needs a tenant (and a model choice
filter would list objects). Ids are plain numbers; the queryset is already tenant-scoped."""

from __future__ import annotations

import django_filters


def id_filter(field: str) -> django_filters.NumberFilter:
    return django_filters.NumberFilter(field_name=f"{field}_id", min_value=1, max_value=2**63 - 1)


def char_filter(field: str, lookup: str = "exact") -> django_filters.CharFilter:
    return django_filters.CharFilter(field_name=field, lookup_expr=lookup, max_length=200)


def bool_filter(field: str) -> django_filters.BooleanFilter:
    return django_filters.BooleanFilter(field_name=field)


def choice_filter(field: str, choices) -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(field_name=field, choices=choices)


def datetime_filter(field: str, lookup: str) -> django_filters.IsoDateTimeFilter:
    return django_filters.IsoDateTimeFilter(field_name=field, lookup_expr=lookup)


def filterset(name: str, **filters) -> type[django_filters.FilterSet]:
    """A FilterSet class with exactly ``filters`` (no model introspection)."""
    return type(name, (django_filters.FilterSet,), dict(filters))
