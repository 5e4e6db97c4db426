"""The customer list: filters incl. the day they were added, whitelisted sort, CSV export of
exactly what is filtered, impossible ranges explained, and the detail page's timeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from cobro.tenancy.context import use_organization
from customers.services.customers import customer_create
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def viewer_client(org):
    from django.test import Client

    user = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=user, role="viewer")
    c = Client()
    c.force_login(user)
    return c


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _csv(response) -> list[list[str]]:
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _people(org, other_org):
    old = CustomerFactory(organization=org, name="Ana Chile", country="CL")
    old.created_at = datetime(2025, 1, 10, 15, tzinfo=UTC)
    old.save(update_fields=["created_at"])
    new = CustomerFactory(organization=org, name="Zoe Argentina", country="AR")
    new.created_at = datetime(2025, 6, 10, 15, tzinfo=UTC)
    new.save(update_fields=["created_at"])
    CustomerFactory(organization=other_org, name="Secreto Globex")
    return old, new


def test_filters_by_added_date_and_sort_header(org, other_org, owner_client):
    _people(org, other_org)
    url = reverse("customers:list")
    page = _text(owner_client.get(url, {"date_from": "2025-06-01"}))
    assert "Zoe Argentina" in page and "Ana Chile" not in page
    page = _text(owner_client.get(url, {"sort": "-created"}))
    assert page.index("Zoe Argentina") < page.index("Ana Chile")
    assert 'aria-sort="descending"' in page
    # Older links with ?ordering= keep working.
    page = _text(owner_client.get(url, {"ordering": "-name"}))
    assert page.index("Zoe Argentina") < page.index("Ana Chile")


def test_impossible_date_range_is_explained_not_a_500(org, other_org, owner_client):
    _people(org, other_org)
    url = reverse("customers:list")
    response = owner_client.get(url, {"date_from": "2025-07-01", "date_to": "2025-01-01"})
    page = _text(response)
    assert response.status_code == 200
    assert "La fecha final es anterior a la inicial" in page
    assert "Ana Chile" in page  # the list is shown unfiltered under the message, not emptied
    response = owner_client.get(url, {"date_from": "1800-01-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Enter a date between 1970 and 2200" in _text(response)
    export = owner_client.get(
        reverse("customers:export"), {"date_from": "2025-07-01", "date_to": "2025-01-01"}
    )
    assert export.status_code == 400


def test_export_has_exactly_the_filtered_customers(org, other_org, owner_client):
    _people(org, other_org)
    rows = _csv(owner_client.get(reverse("customers:export"), {"country": "AR"}))
    assert [r[1] for r in rows[1:]] == ["Zoe Argentina"]
    rows = _csv(owner_client.get(reverse("customers:export")))
    assert sorted(r[1] for r in rows[1:]) == ["Ana Chile", "Zoe Argentina"]
    page = owner_client.get(reverse("customers:list"), {"country": "AR"}).content.decode()
    assert "/customers/export.csv?country=AR" in page


def test_viewer_can_list_but_sees_no_create_buttons(org, other_org, viewer_client):
    _people(org, other_org)
    page = _text(viewer_client.get(reverse("customers:list")))
    assert "Ana Chile" in page
    assert reverse("customers:create") not in page and reverse("customers:import") not in page
    assert viewer_client.post(reverse("customers:create"), {}).status_code == 403


def test_detail_timeline_shows_creation_and_messages(org, owner_client):
    with use_organization(org):
        customer = customer_create(organization=org, name="Rosa Díaz", email="rosa@example.com")
    page = _text(owner_client.get(reverse("customers:detail", args=[customer.pk])))
    assert "Historial" in page
    assert "Cliente creado" in page or "customer.created" in page
