"""Staff pages of the organization's domain events (the outbox): a list with filters by type,
object, delivery state and date, its CSV export, and a detail page (payload, delivery
attempts, which handlers processed it, staff actions on the same object). Read-only."""

from __future__ import annotations

import json

from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from cobro.exports import Column, ExportSpec, export_respond
from cobro.listing import csv_date, paginate
from cobro.models import HandlerRun, OutboxEvent
from cobro.selectors import (
    EVENT_LABELS,
    EventFilterForm,
    filtered_events,
    known_event_types,
)
from cobro.views.base import StaffView

# Object kinds events are about (suggestions for the "object" filter).
SUBJECT_TYPES = (
    "billing.invoice",
    "billing.subscription",
    "billing.creditnote",
    "customers.customer",
    "payments.paymentattempt",
)


def _subject_url(event: OutboxEvent) -> str:
    from django.urls import NoReverseMatch, reverse

    names = {
        "billing.invoice": "billing:invoice_detail",
        "billing.subscription": "billing:subscription_detail",
        "customers.customer": "customers:detail",
        "payments.paymentattempt": "payments:detail",
    }
    name = names.get(event.subject_type)
    if not name or not event.subject_id.isdigit():
        return ""
    try:
        return reverse(name, kwargs={"pk": int(event.subject_id)})
    except NoReverseMatch:
        return ""


class EventListView(StaffView):
    def get(self, request):
        form = EventFilterForm(request.GET or None, organization=self.organization)
        events = filtered_events(organization=self.organization, data=form.filters())
        page = paginate(
            events.only(
                "id",
                "type",
                "subject_type",
                "subject_id",
                "created_at",
                "dispatched_at",
                "attempts",
            ),
            request.GET.get("page"),
        )
        for e in page.object_list:
            e.label = EVENT_LABELS.get(e.type, "")
            e.subject_url = _subject_url(e)
        return render(
            request,
            "cobro/events/list.html",
            {
                "form": form,
                "page": page,
                "filtered": form.is_filtered(),
                "event_types": known_event_types(),
                "subject_types": SUBJECT_TYPES,
            },
        )


class EventDetailView(StaffView):
    def get(self, request, pk):
        event = get_object_or_404(OutboxEvent.objects.all(), pk=pk)
        runs = HandlerRun.objects.filter(event=event).order_by("completed_at")
        audit = []
        if event.subject_type and event.subject_id:
            from cobro.models import AuditEntry

            audit = list(
                AuditEntry.objects.filter(
                    target_type=event.subject_type, target_id=event.subject_id
                ).order_by("-created_at")[:50]
            )
        return render(
            request,
            "cobro/events/detail.html",
            {
                "event": event,
                "label": EVENT_LABELS.get(event.type, ""),
                "payload": json.dumps(event.payload, indent=2, ensure_ascii=False, sort_keys=True),
                "runs": runs,
                "audit": audit,
                "subject_url": _subject_url(event),
            },
        )


EVENT_EXPORT = ExportSpec(
    key="events",
    path="cobro.views.events.EVENT_EXPORT",
    form=EventFilterForm,
    queryset=lambda org, data: filtered_events(organization=org, data=data),
    columns=(
        Column(_("Id"), lambda e, tz: e.pk),
        Column(_("Type"), lambda e, tz: e.type),
        Column(_("Object"), lambda e, tz: e.subject_type),
        Column(_("Object id"), lambda e, tz: e.subject_id),
        Column(_("Created"), lambda e, tz: csv_date(e.created_at, tz)),
        Column(_("Delivered"), lambda e, tz: csv_date(e.dispatched_at, tz)),
        Column(_("Attempts"), lambda e, tz: e.attempts),
        Column(
            _("Payload"),
            lambda e, tz: json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
        ),
    ),
)


class EventExportView(StaffView):
    def get(self, request):
        return export_respond(request, spec=EVENT_EXPORT, organization=self.organization)
