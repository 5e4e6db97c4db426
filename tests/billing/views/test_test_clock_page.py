from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from billing.models import Invoice
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(org):
    org.is_sandbox = True
    org.test_clock_at = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)  # 12:00 in Santiago
    org.save()
    return org


def test_page_shows_the_clock(owner_client, sandbox):
    html = owner_client.get(reverse("billing:test_clock")).content.decode()
    assert "2025" in html and "America/Santiago" in html
    assert 'name="to"' in html


def test_advancing_six_months_bills_each_month_and_lists_it(
    owner_client, sandbox, catalog, django_capture_on_commit_callbacks
):
    with use_organization(sandbox):
        sub = subscription_create(customer=catalog["customer"], price=catalog["price"])
    # The advance runs in the background (eager here, once the request commits).
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("billing:test_clock"), {"to": "2025-07-20T09:00"})
    assert response.status_code == 302
    sandbox.refresh_from_db()
    # 09:00 in Santiago (UTC-4 in July) is 13:00 UTC.
    assert sandbox.test_clock_at == datetime(2025, 7, 20, 13, 0, tzinfo=UTC)
    renewals = Invoice.unscoped.filter(subscription=sub, billing_reason="subscription_cycle")
    assert renewals.count() == 6  # Feb 15 ... Jul 15
    summary = owner_client.get(response["Location"]).content.decode()
    billed_url = re.search(r'href="(/billing/test-clock/\?[^"]+)"', summary).group(1)
    page = owner_client.get(billed_url.replace("&amp;", "&")).content.decode()
    for invoice in renewals:
        assert invoice.number in page


def test_moving_backwards_is_refused(owner_client, sandbox):
    response = owner_client.post(reverse("billing:test_clock"), {"to": "2024-12-01T00:00"})
    assert response.status_code == 400
    sandbox.refresh_from_db()
    assert sandbox.test_clock_at == datetime(2025, 1, 15, 15, 0, tzinfo=UTC)


def test_real_organizations_have_no_test_clock(owner_client, org):
    page = owner_client.get(reverse("billing:test_clock"), HTTP_ACCEPT_LANGUAGE="en")
    assert "only for sandbox organizations" in page.content.decode()
    response = owner_client.post(reverse("billing:test_clock"), {"to": "2030-01-01T00:00"})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.test_clock_at is None
