"""Shared machinery of the staff list pages (customers, subscriptions, invoices, payments,
events): a filter form base with range checks and a sort whitelist, pagination that never
counts a whole huge table, and streamed CSV.

A list page and its CSV export call the same selector with the same cleaned form data, so the
export holds exactly what the page shows (all pages of it).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 25
# Above this many matching rows the page says "more than N" instead of counting them all.
COUNT_CAP = 10_000
# Offset pagination stops here: past it, narrow the filters (or export).
MAX_PAGE = COUNT_CAP // PAGE_SIZE
# Dates outside this window are typing mistakes (year 20225), not filters.
MIN_YEAR, MAX_YEAR = 1970, 2200

# Spreadsheets run cells that start like a formula; a leading apostrophe keeps them text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ListFilterForm(forms.Form):
    """Search, a date range and a whitelisted sort. Subclasses set ``SORTS`` (public key ->
    ``order_by`` columns; the first key is the default) and add their own filters.

    Impossible input is an error on the field (the page shows it, the export answers 400);
    it never silently yields an empty list."""

    SORTS: dict[str, tuple[str, ...]] = {}
    DATE_LABEL: Any = _("Date")

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    # Filters whose presence makes the list "filtered" (for the empty state).
    FILTER_FIELDS: tuple[str, ...] = ("q", "date_from", "date_to")

    def clean_sort(self) -> str:
        value = self.cleaned_data.get("sort") or ""
        return value if value in self.SORTS else self.default_sort

    @property
    def default_sort(self) -> str:
        return next(iter(self.SORTS), "")

    def _check_year(self, name: str) -> None:
        value = self.cleaned_data.get(name)
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            self.add_error(
                name,
                _("Enter a date between %(start)s and %(end)s.")
                % {"start": MIN_YEAR, "end": MAX_YEAR},
            )

    def clean(self):
        super().clean()
        self._check_year("date_from")
        self._check_year("date_to")
        start, end = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return self.cleaned_data

    def filters(self) -> dict:
        """Cleaned data when valid; with errors, no filter at all (the page shows the errors
        above an unfiltered list, the export refuses)."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data
        return {"sort": self.default_sort}

    def is_filtered(self) -> bool:
        data = self.filters()
        return any(data.get(k) not in (None, "", [], ()) for k in self.FILTER_FIELDS)

    def error_text(self) -> str:
        return "; ".join(
            f"{self.fields[name].label}: {e}" if name in self.fields else str(e)
            for name, errors in self.errors.items()
            for e in errors
        )


def local_day_range(data: dict, tz_name: str) -> tuple[datetime | None, datetime | None]:
    """``date_from``/``date_to`` (whole days in the organization's time zone) -> aware
    ``[start, end)`` bounds."""
    tz = ZoneInfo(tz_name)
    start = end = None
    if data.get("date_from"):
        start = datetime.combine(data["date_from"], time(0), tzinfo=tz)
    if data.get("date_to"):
        end = datetime.combine(data["date_to"] + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def apply_date_range(qs: QuerySet, column: str, data: dict, tz_name: str) -> QuerySet:
    start, end = local_day_range(data, tz_name)
    if start is not None:
        qs = qs.filter(**{f"{column}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{column}__lt": end})
    return qs


def apply_sort(qs: QuerySet, sorts: dict[str, tuple[str, ...]], key: str) -> QuerySet:
    order = sorts.get(key) or next(iter(sorts.values()))
    return qs.order_by(*order)


@dataclass
class ListPage:
    """One page of a list, found with ``LIMIT per_page + 1`` (no COUNT of the whole table);
    ``count`` is exact up to ``COUNT_CAP`` and ``count_capped`` says when there are more."""

    object_list: list
    number: int
    per_page: int
    has_next: bool
    count: int
    count_capped: bool
    extra: dict = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    @property
    def num_pages(self) -> int | None:
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.per_page))


def _page_rows(qs: QuerySet, offset: int, limit: int) -> list:
    """``qs[offset:offset + limit]``. Past the first page, the rows skipped by the offset are
    found by their primary keys alone (the list's ordering index, no joins), then only the
    page's rows are loaded with their related objects: a deep page costs an index walk, not
    ``offset`` joins to customers, prices and products."""
    if offset == 0 or qs.query.distinct or qs.query.combinator or qs.query.group_by:
        return list(qs[offset : offset + limit])
    ids = list(qs.values_list("pk", flat=True)[offset : offset + limit])
    if not ids:
        return []
    position = {pk: i for i, pk in enumerate(ids)}
    rows = list(qs.filter(pk__in=ids))
    rows.sort(key=lambda row: position[row.pk])
    return rows


def paginate(
    qs: QuerySet, page: Any, *, per_page: int = PAGE_SIZE, count_cap: int = COUNT_CAP
) -> ListPage:
    try:
        number = int(page)
    except (TypeError, ValueError):
        number = 1
    number = min(max(number, 1), max(1, count_cap // per_page))
    offset = (number - 1) * per_page
    rows = _page_rows(qs, offset, per_page + 1)
    if not rows and number > 1:  # past the end (a stale link): back to the first page
        return paginate(qs, 1, per_page=per_page, count_cap=count_cap)
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    if not has_next:
        count, capped = offset + len(rows), False
    else:
        # Counting stops at the cap: SELECT COUNT(*) FROM (... LIMIT cap + 1).
        count = qs.order_by()[: count_cap + 1].count()
        capped = count > count_cap
        count = min(count, count_cap)
    return ListPage(
        object_list=rows,
        number=number,
        per_page=per_page,
        has_next=has_next and number < count_cap // per_page,
        count=count,
        count_capped=capped,
    )


# -- CSV -------------------------------------------------------------------------------------


def csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_date(value: datetime | date | None, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    return value.isoformat()


class _Echo:
    """The file-like object ``csv.writer`` needs: returns each line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text, one line at a time, starting with a byte-order mark (spreadsheet apps then
    read the file as UTF-8: names with accents)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def csv_response(*, filename: str, rows: Iterable[list[str]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
