"""Read side of the kernel for the staff pages: the organization's domain events (the outbox)
and the timeline of one object (its events and audit entries)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from cobro.events import _handlers
from cobro.listing import ListFilterForm, apply_date_range, apply_sort
from cobro.models import AuditEntry, OutboxEvent

EVENT_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
}

# What timelines say for each event type and audit action (any other shows its code).
EVENT_LABELS = {
    "subscription.created": _("Subscription created"),
    "subscription.updated": _("Subscription updated"),
    "subscription.renewed": _("Renewed for a new period"),
    "subscription.paused": _("Paused"),
    "subscription.resumed": _("Resumed"),
    "subscription.canceled": _("Canceled"),
    "subscription.trial_ended": _("Trial ended"),
    "invoice.created": _("Invoice created"),
    "invoice.finalized": _("Invoice issued"),
    "invoice.paid": _("Invoice paid"),
    "invoice.voided": _("Invoice voided"),
    "invoice.marked_uncollectible": _("Invoice marked uncollectible"),
    "invoice.reminder_sent": _("Reminder sent"),
    "credit_note.issued": _("Credit note issued"),
    "payment.succeeded": _("Payment succeeded"),
    "payment.failed": _("Payment failed"),
    "payment.refunded": _("Payment refunded"),
    "payment.disputed": _("Payment disputed"),
    "payment.needs_review": _("Payment needs review"),
    "dunning.exhausted": _("Retries exhausted"),
    "customer.created": _("Customer created"),
    "customer.updated": _("Customer updated"),
}
KIND_LABELS = {
    "event": _("event"),
    "audit": _("staff"),
    "message": _("message"),
    "invoice": _("invoice"),
    "payment": _("payment"),
    "credit_note": _("credit note"),
    "subscription": _("subscription"),
}

DELIVERY_PENDING = "pending"
DELIVERY_DONE = "delivered"
DELIVERY_FAILING = "failing"


def known_event_types() -> list[str]:
    """Event types some handler listens to (suggestions for the type filter; any type may be
    typed)."""
    return sorted(_handlers)


class EventFilterForm(ListFilterForm):
    SORTS = EVENT_SORTS

    type = forms.CharField(
        label=_("Type"),
        required=False,
        max_length=64,
        help_text=_("Exact type (invoice.paid) or its start (invoice.)."),
    )
    subject = forms.CharField(label=_("Object"), required=False, max_length=64)
    delivery = forms.ChoiceField(
        label=_("Delivery"),
        required=False,
        choices=[
            ("", _("All")),
            (DELIVERY_DONE, _("Delivered")),
            (DELIVERY_PENDING, _("Waiting")),
            (DELIVERY_FAILING, _("Failing (retrying)")),
        ],
    )
    FILTER_FIELDS = ("q", "date_from", "date_to", "type", "subject", "delivery")

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["q"].label = _("Object id")
        self.fields["type"].widget.attrs["list"] = "event-types"
        self.fields["subject"].widget.attrs["list"] = "event-subjects"


def filtered_events(*, organization, data: dict) -> QuerySet[OutboxEvent]:
    """The organization's domain events (``EventFilterForm`` cleaned data): type (exact, or
    a prefix ending in "."), object kind and id, delivery state, day range, sort."""
    events = OutboxEvent.objects.filter(organization=organization)
    kind = (data.get("type") or "").strip()
    if kind:
        events = (
            events.filter(type__startswith=kind) if kind.endswith(".") else events.filter(type=kind)
        )
    if data.get("subject"):
        events = events.filter(subject_type=data["subject"].strip())
    q = (data.get("q") or "").strip()
    if q:
        events = events.filter(subject_id=q)
    delivery = data.get("delivery")
    if delivery == DELIVERY_DONE:
        events = events.filter(dispatched_at__isnull=False)
    elif delivery == DELIVERY_PENDING:
        events = events.filter(dispatched_at__isnull=True, attempts=0)
    elif delivery == DELIVERY_FAILING:
        events = events.filter(dispatched_at__isnull=True, attempts__gt=0)
    events = apply_date_range(events, "created_at", data, organization.time_zone)
    return apply_sort(events, EVENT_SORTS, data.get("sort") or "-created")


def _subject_pairs(objects: Iterable[Model]) -> list[tuple[str, str]]:
    return [(o._meta.label_lower, str(o.pk)) for o in objects]


def subject_events(objects: Iterable[Model], *, limit: int = 200) -> list[OutboxEvent]:
    """Events about any of ``objects`` (newest first, at most ``limit``)."""
    pairs = _subject_pairs(objects)
    if not pairs:
        return []
    cond = Q()
    for subject_type, subject_id in pairs:
        cond |= Q(subject_type=subject_type, subject_id=subject_id)
    return list(OutboxEvent.objects.filter(cond).order_by("-created_at")[:limit])


def subject_audit(objects: Iterable[Model], *, limit: int = 200) -> list[AuditEntry]:
    pairs = _subject_pairs(objects)
    if not pairs:
        return []
    cond = Q()
    for target_type, target_id in pairs:
        cond |= Q(target_type=target_type, target_id=target_id)
    return list(AuditEntry.objects.filter(cond).order_by("-created_at", "-pk")[:limit])


def timeline_entry(
    *, at: datetime | None, kind: str, label: Any, detail: str = "", url: str = ""
) -> dict:
    return {"at": at, "kind": kind, "label": label, "detail": detail, "url": url}


def timeline_sorted(entries: Iterable[dict], *, limit: int = 300) -> list[dict]:
    """Newest first (entries without a time are dropped), each with its kind's label."""
    dated = [e for e in entries if e["at"] is not None]
    for e in dated:
        e["kind_label"] = KIND_LABELS.get(e["kind"], e["kind"])
    return sorted(dated, key=lambda e: e["at"], reverse=True)[:limit]


def kernel_timeline(
    objects: Iterable[Model],
    *,
    labels: dict | None = None,
    events: list[OutboxEvent] | None = None,
) -> list[dict]:
    """Timeline entries of the events and audit entries about ``objects``; each event links
    to its detail page on the events list."""
    from django.urls import reverse

    objects = list(objects)
    labels = labels or EVENT_LABELS
    events = subject_events(objects) if events is None else events
    entries = [
        timeline_entry(
            at=e.created_at,
            kind="event",
            label=labels.get(e.type, e.type),
            detail=e.type,
            url=reverse("dashboard:event_detail", kwargs={"pk": e.pk}),
        )
        for e in events
    ]
    entries += [
        timeline_entry(
            at=a.created_at,
            kind="audit",
            label=labels.get(a.action, a.action),
            detail=_("by %(actor)s") % {"actor": a.actor_label or _("system")},
        )
        for a in subject_audit(objects)
    ]
    return entries
