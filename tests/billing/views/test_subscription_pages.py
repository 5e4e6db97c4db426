from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from billing.models import CreditLedgerEntry, Invoice, Price, Subscription
from billing.services.catalog import price_update
from billing.services.subscriptions import subscription_preview_change
from cobro import clock
from cobro.money import Money
from cobro.tenancy.context import use_organization

pytestmark = pytest.mark.django_db


def test_list_and_create_pages_render(owner_client, sub):
    listing = owner_client.get(reverse("billing:subscription_list"))
    assert listing.status_code == 200
    assert "Panadería Las Rosas" in listing.content.decode()
    assert owner_client.get(reverse("billing:subscription_create")).status_code == 200


def test_list_filters_by_status_and_customer(owner_client, org, sub, catalog):
    paused = owner_client.get(reverse("billing:subscription_list"), {"status": "paused"})
    assert "Panadería Las Rosas" not in paused.content.decode()
    found = owner_client.get(reverse("billing:subscription_list"), {"q": "rosas"})
    assert "Panadería Las Rosas" in found.content.decode()
    missing = owner_client.get(reverse("billing:subscription_list"), {"q": "nadie"})
    assert "Panadería Las Rosas" not in missing.content.decode()


def test_create_subscription_then_detail_shows_it(owner_client, org, catalog):
    response = owner_client.post(
        reverse("billing:subscription_create"),
        {
            "customer": catalog["customer"].pk,
            "price": catalog["price"].pk,
            "quantity": "3",
            "anchor_day": "31",
            "coupon": catalog["coupon"].pk,
            "collection_method": "send_invoice",
            "days_until_due": "10",
        },
    )
    assert response.status_code == 302
    with use_organization(org):
        sub = Subscription.objects.get()
    assert response["Location"] == reverse("billing:subscription_detail", args=[sub.pk])
    assert (sub.quantity, sub.billing_anchor_day, sub.coupon_id) == (3, 31, catalog["coupon"].pk)
    detail = owner_client.get(response["Location"]).content.decode()
    assert "Panadería Las Rosas" in detail
    assert "BIENVENIDA" in detail
    with use_organization(org):
        invoice = Invoice.objects.get(subscription=sub)
    assert invoice.number in detail  # the first invoice is listed and on the timeline


def test_create_with_anchor_day_32_is_refused(owner_client, org, catalog):
    response = owner_client.post(
        reverse("billing:subscription_create"),
        {
            "customer": catalog["customer"].pk,
            "price": catalog["price"].pk,
            "quantity": "1",
            "anchor_day": "32",
            "collection_method": "charge_automatically",
        },
    )
    assert response.status_code == 400
    assert not Subscription.unscoped.filter(organization=org).exists()


def test_detail_shows_timeline_of_outbox_events(owner_client, sub):
    html = owner_client.get(reverse("billing:subscription_detail", args=[sub.pk])).content.decode()
    assert 'class="timeline' in html
    assert html.count("<li><time") >= 2  # subscription.created + invoice events


def test_pause_indefinitely_then_resume(owner_client, org, sub):
    url = reverse("billing:subscription_pause", args=[sub.pk])
    assert owner_client.get(url).status_code == 200
    sub.refresh_from_db()
    assert sub.status == "active"  # the form page changes nothing
    owner_client.post(url, {"mode": "indefinite"})
    sub.refresh_from_db()
    assert sub.status == "paused" and sub.resume_at is None
    owner_client.post(reverse("billing:subscription_resume", args=[sub.pk]))
    sub.refresh_from_db()
    assert sub.status == "active"


def test_pause_until_a_date_sets_resume(owner_client, org, sub):
    day = (clock.local_now(org) + timedelta(days=20)).date()
    owner_client.post(
        reverse("billing:subscription_pause", args=[sub.pk]),
        {"mode": "until", "resume_on": day.isoformat()},
    )
    sub.refresh_from_db()
    assert sub.status == "paused"
    assert sub.resume_at is not None
    assert sub.resume_at.astimezone(clock.local_now(org).tzinfo).date() == day


def test_pause_in_the_past_is_a_form_error(owner_client, org, sub):
    day = (clock.local_now(org) - timedelta(days=3)).date()
    response = owner_client.post(
        reverse("billing:subscription_pause", args=[sub.pk]),
        {"mode": "until", "resume_on": day.isoformat()},
    )
    assert response.status_code == 400
    sub.refresh_from_db()
    assert sub.status == "active"


def test_cancel_at_period_end_then_undo(owner_client, sub):
    owner_client.post(reverse("billing:subscription_cancel", args=[sub.pk]), {"when": "period_end"})
    sub.refresh_from_db()
    assert sub.cancel_at_period_end and sub.status == "active"
    detail = owner_client.get(reverse("billing:subscription_detail", args=[sub.pk])).content
    assert reverse("billing:subscription_undo_cancel", args=[sub.pk]).encode() in detail
    owner_client.post(reverse("billing:subscription_undo_cancel", args=[sub.pk]))
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end


def test_cancel_now_with_prorated_credit(owner_client, org, sub):
    owner_client.post(
        reverse("billing:subscription_cancel", args=[sub.pk]),
        {"when": "now", "prorated_credit": "on"},
    )
    sub.refresh_from_db()
    assert sub.status == "canceled"
    credit = CreditLedgerEntry.unscoped.filter(subscription=sub, kind="cancellation").first()
    # The unused share of the paid period, tax included: never more than the invoice (30.916).
    assert credit is not None and 0 < credit.amount_minor <= 30_916


def test_pause_on_canceled_subscription_shows_error(owner_client, sub):
    owner_client.post(reverse("billing:subscription_cancel", args=[sub.pk]), {"when": "now"})
    response = owner_client.post(
        reverse("billing:subscription_pause", args=[sub.pk]),
        {"mode": "indefinite"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "not allowed in the current status" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_change_preview_shows_the_services_proration_amounts(owner_client, org, sub, catalog):
    premium = catalog["premium"]
    response = owner_client.post(
        reverse("billing:subscription_change", args=[sub.pk]),
        {"step": "preview", "price": premium.pk, "quantity": "2", "when": "now"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    plan = subscription_preview_change(subscription=sub, price=premium, quantity=2, when="now")
    assert plan.document is not None
    for line in plan.document.lines:
        assert f'data-amount-minor="{line.amount_minor}"' in html
        assert Money(line.amount_minor, "CLP").format("es_CL") in html
    assert f'data-total-minor="{plan.document.total_minor}"' in html
    sub.refresh_from_db()
    assert sub.price_id == catalog["price"].pk  # a preview writes nothing
    assert Invoice.unscoped.filter(subscription=sub).count() == 1


def test_change_confirm_applies_and_bills_the_difference(owner_client, org, sub, catalog):
    premium = catalog["premium"]
    response = owner_client.post(
        reverse("billing:subscription_change", args=[sub.pk]),
        {"step": "confirm", "price": premium.pk, "quantity": "2", "when": "now"},
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.price_id == premium.pk
    assert Invoice.unscoped.filter(subscription=sub, billing_reason="subscription_update").exists()


def test_change_at_next_period_is_scheduled(owner_client, sub):
    owner_client.post(
        reverse("billing:subscription_change", args=[sub.pk]),
        {"step": "confirm", "price": "", "quantity": "5", "when": "next_period"},
    )
    sub.refresh_from_db()
    assert (sub.quantity, sub.pending_quantity) == (2, 5)


def test_change_to_nothing_new_is_an_error(owner_client, sub, catalog):
    response = owner_client.post(
        reverse("billing:subscription_change", args=[sub.pk]),
        {"step": "preview", "price": catalog["price"].pk, "quantity": "2", "when": "now"},
    )
    assert response.status_code == 400


def test_preview_next_invoices(owner_client, sub):
    response = owner_client.get(
        reverse("billing:subscription_preview_invoices", args=[sub.pk]), {"count": "4"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<section class="card">') == 4
    # 2 × 12.990 + IVA 19% = 30.916 each month
    assert "$30.916" in html


def test_migrate_to_newer_price_version(owner_client, org, sub, catalog):
    with use_organization(org):
        new = price_update(price=catalog["price"], amount_minor=13_990)
    detail = owner_client.get(reverse("billing:subscription_detail", args=[sub.pk])).content
    assert reverse("billing:subscription_migrate", args=[sub.pk]).encode() in detail
    owner_client.post(reverse("billing:subscription_migrate", args=[sub.pk]), {"price": new.pk})
    sub.refresh_from_db()
    assert sub.pending_price_id == new.pk
    assert Price.unscoped.get(pk=new.pk).version == 2
