"""The events page: the organization's domain events with filters by type (exact or prefix),
object, delivery state and date; a detail view; CSV export; other organizations' events
never show."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.urls import reverse

from cobro import clock
from cobro.events import event_emit
from cobro.models import OutboxEvent
from cobro.tenancy.context import use_organization


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _emit(org, type_, when, payload=None):
    with use_organization(org), clock.frozen(when), transaction.atomic():
        return event_emit(organization=org, type=type_, payload=payload or {})


@pytest.fixture
def events(org, other_org):
    paid = _emit(org, "invoice.paid", datetime(2025, 3, 1, 12, tzinfo=UTC), {"amount": 990})
    created = _emit(org, "invoice.created", datetime(2025, 3, 2, 12, tzinfo=UTC))
    sub = _emit(org, "subscription.paused", datetime(2025, 4, 2, 12, tzinfo=UTC))
    _emit(other_org, "invoice.paid", datetime(2025, 3, 1, tzinfo=UTC), {"secret": "Globex"})
    with use_organization(org):
        OutboxEvent.objects.filter(pk=paid.pk).update(
            dispatched_at=datetime(2025, 3, 1, tzinfo=UTC)
        )
    return {"paid": paid, "created": created, "sub": sub}


def test_lists_only_this_organizations_events_newest_first(org, owner_client, events):
    page = _text(owner_client.get(reverse("dashboard:event_list")))
    assert page.index("<code>subscription.paused") < page.index("<code>invoice.created")
    assert "Globex" not in page
    assert "Factura pagada" in page  # the human label next to the code


def test_filters_by_type_prefix_delivery_and_dates(org, owner_client, events):
    url = reverse("dashboard:event_list")
    page = _text(owner_client.get(url, {"type": "invoice."}))
    assert "<code>invoice.paid</code>" in page and "<code>invoice.created</code>" in page
    assert "<code>subscription.paused</code>" not in page
    page = _text(owner_client.get(url, {"type": "invoice.paid"}))
    assert "<code>invoice.created</code>" not in page
    page = _text(owner_client.get(url, {"delivery": "delivered"}))
    assert "<code>invoice.paid</code>" in page and "<code>invoice.created</code>" not in page
    page = _text(owner_client.get(url, {"date_from": "2025-04-01"}))
    assert "<code>subscription.paused</code>" in page and "<code>invoice.paid</code>" not in page
    page = _text(owner_client.get(url, {"type": "nothing.like.this"}))
    assert "No hay eventos que coincidan" in page


def test_bad_dates_are_explained(org, owner_client, events):
    response = owner_client.get(
        reverse("dashboard:event_list"), {"date_from": "2025-05-01", "date_to": "2025-04-01"}
    )
    assert response.status_code == 200
    assert "La fecha final es anterior a la inicial" in _text(response)


def test_detail_shows_payload_and_delivery(org, owner_client, events):
    page = _text(owner_client.get(reverse("dashboard:event_detail", args=[events["paid"].pk])))
    assert "invoice.paid" in page and "&quot;amount&quot;: 990" in page
    assert "entregado" in page.lower() or "delivered" in page.lower()


def test_other_organizations_event_is_404(org, other_org, owner_client):
    theirs = _emit(other_org, "invoice.paid", datetime(2025, 3, 1, tzinfo=UTC))
    assert owner_client.get(reverse("dashboard:event_detail", args=[theirs.pk])).status_code == 404


def test_export_has_the_filtered_events(org, owner_client, events):
    response = owner_client.get(reverse("dashboard:event_export"), {"type": "invoice."})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(r[1] for r in rows[1:]) == ["invoice.created", "invoice.paid"]
    assert "Globex" not in text


def test_empty_state_says_what_to_do_next(org, owner_client):
    page = _text(owner_client.get(reverse("dashboard:event_list")))
    assert "Aún no hay eventos" in page and reverse("customers:list") in page


def test_viewer_can_read_events(org, owner_client, events):
    from django.test import Client

    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=user, role="viewer")
    c = Client()
    c.force_login(user)
    assert c.get(reverse("dashboard:event_list")).status_code == 200
