"""Subscription and payment lists: filters (status, plan, dates, amounts), sort, CSV export of
exactly what is filtered, bad ranges explained, and the payment detail timeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from django.urls import reverse

from billing.services.subscriptions import subscription_cancel, subscription_create
from cobro.tenancy.context import use_organization
from tests.customers.factories import CustomerFactory
from tests.isolation import make


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _csv(response) -> list[list[str]]:
    data = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _subs(org, catalog):
    with use_organization(org):
        rosa = catalog["customer"]
        luis = CustomerFactory(organization=org, name="Luis Mora", email="luis@example.com")
        eva = CustomerFactory(organization=org, name="Eva Soto", email="eva@example.com")
        monthly = subscription_create(customer=rosa, price=catalog["price"])
        premium = subscription_create(customer=luis, price=catalog["premium"])
        gone = subscription_create(customer=eva, price=catalog["price"])
        subscription_cancel(subscription=gone, at_period_end=False)
    return monthly, premium, gone


def test_subscription_list_filters_by_plan_status_and_price(org, owner_client, catalog):
    monthly, premium, gone = _subs(org, catalog)
    url = reverse("billing:subscription_list")
    page = _text(owner_client.get(url, {"plan": catalog["premium"].pk}))
    assert "Luis Mora" in page and "Panadería Las Rosas" not in page
    page = _text(owner_client.get(url, {"status": "canceled"}))
    assert "Eva Soto" in page and "Luis Mora" not in page
    page = _text(owner_client.get(url, {"amount_min": "20.000"}))
    assert "Luis Mora" in page and "Eva Soto" not in page
    # Another organization's plan id is not a valid choice: a clear error, not their data.
    response = owner_client.get(url, {"plan": "999999"})
    assert response.status_code == 200 and 'id="id_plan_error"' in _text(response)


def test_subscription_export_matches_the_filters(org, owner_client, catalog):
    _subs(org, catalog)
    rows = _csv(owner_client.get(reverse("billing:subscription_export"), {"status": "active"}))
    names = sorted(r[1] for r in rows[1:])
    assert names == ["Luis Mora", "Panadería Las Rosas"]
    assert rows[1][7] in ("12990", "29990")  # unit amount in major units (CLP has none)
    bad = owner_client.get(
        reverse("billing:subscription_export"),
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 400 and "before the start date" in bad.content.decode()


def test_subscription_detail_timeline_lists_events_and_invoices(org, owner_client, catalog):
    monthly, _premium, _gone = _subs(org, catalog)
    page = _text(owner_client.get(reverse("billing:subscription_detail", args=[monthly.pk])))
    assert "Suscripción creada" in page or "Subscription created" in page
    assert reverse("dashboard:event_list") in page or "/events/" in page


def _attempts(org):
    from tests.isolation import load_app_registries

    load_app_registries()  # the isolation factories of invoices and attempts

    ok = make("payments.paymentattempt", org)
    ok.status = "succeeded"
    ok.amount_minor = 50_000
    ok.save(update_fields=["status", "amount_minor"])
    failed = make("payments.paymentattempt", org)
    failed.amount_minor = 1_000
    failed.created_at = datetime(2025, 1, 5, tzinfo=UTC)
    failed.save(update_fields=["amount_minor", "created_at"])
    return ok, failed


def test_payment_list_filters_sort_and_export(org, other_org, owner_client):
    ok, failed = _attempts(org)
    make("payments.paymentattempt", other_org)
    url = reverse("payments:list")
    page = _text(owner_client.get(url, {"status": "succeeded"}))
    assert reverse("payments:detail", args=[ok.pk]) in page
    assert reverse("payments:detail", args=[failed.pk]) not in page
    page = _text(owner_client.get(url, {"sort": "-amount"}))
    assert page.index(reverse("payments:detail", args=[ok.pk])) < page.index(
        reverse("payments:detail", args=[failed.pk])
    )
    page = _text(owner_client.get(url, {"date_to": "2025-01-31"}))
    assert reverse("payments:detail", args=[failed.pk]) in page
    assert reverse("payments:detail", args=[ok.pk]) not in page
    rows = _csv(owner_client.get(reverse("payments:export"), {"amount_max": "10.000"}))
    assert [int(r[0]) for r in rows[1:]] == [failed.pk]
    response = owner_client.get(url, {"amount_min": "abc"})
    assert response.status_code == 200 and 'id="id_amount_min_error"' in _text(response)


def test_payment_detail_timeline_includes_events(org, owner_client):
    from django.db import transaction

    from cobro.events import event_emit

    ok, _failed = _attempts(org)
    with use_organization(org), transaction.atomic():
        event_emit(organization=org, type="payment.succeeded", payload={}, subject=ok)
    page = _text(owner_client.get(reverse("payments:detail", args=[ok.pk])))
    assert "Pago exitoso" in page or "Payment succeeded" in page
