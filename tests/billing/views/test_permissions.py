"""Roles and tenants on the billing pages: a viewer can read but every write is refused (403)
and changes nothing; another organization's objects are 404 for every URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import (
    BillingSettings,
    Coupon,
    CreditNote,
    Invoice,
    Price,
    Product,
    Subscription,
    TaxRate,
)
from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro.models import OutboxEvent
from cobro.tenancy.context import use_organization
from tests.billing.views.conftest import _client_for

pytestmark = pytest.mark.django_db

MODELS = (Product, Price, TaxRate, Coupon, BillingSettings, Subscription, Invoice, CreditNote)


def fingerprint():
    """Every billing row and every outbox event: equal before and after means nothing changed."""
    rows = {m.__name__: sorted(map(repr, m.unscoped.values())) for m in MODELS}
    rows["events"] = OutboxEvent.unscoped.count()
    return rows


@pytest.fixture
def objects(org, catalog, sub):
    with use_organization(org):
        invoice = Invoice.objects.get(subscription=sub)
        draft = invoice_create_one_off(
            customer=catalog["customer"],
            currency="CLP",
            items=[ManualItem("Extra", 1_000)],
            finalize=False,
        )
    return {**catalog, "sub": sub, "invoice": invoice, "draft": draft}


def write_requests(o):
    """(url, POST data) of every write of the billing pages, with valid data."""
    item = {
        "customer": o["customer"].pk,
        "currency": "CLP",
        "collection_method": "send_invoice",
        "finalize": "on",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-description": "X",
        "items-0-quantity": "1",
        "items-0-unit_amount": "1.000",
    }
    price = {
        "currency": "CLP",
        "amount": "9.990",
        "interval_count": "1",
        "interval": "month",
        "trial_days": "0",
        "tax_behavior": "none",
    }
    s, i, d = o["sub"].pk, o["invoice"].pk, o["draft"].pk
    return [
        (reverse("billing:product_create"), {"name": "Nuevo"}),
        (reverse("billing:product_update", args=[o["product"].pk]), {"name": "Otro"}),
        (reverse("billing:price_create", args=[o["product"].pk]), price),
        (reverse("billing:price_update", args=[o["premium"].pk]), price),
        (reverse("billing:price_archive", args=[o["premium"].pk]), {}),
        (reverse("billing:tax_list"), {"name": "IVA", "percentage": "21"}),
        (reverse("billing:tax_deactivate", args=[o["iva"].pk]), {}),
        (
            reverse("billing:coupon_create"),
            {"code": "X", "name": "X", "kind": "percent", "percent_off": "5", "duration": "once"},
        ),
        (reverse("billing:coupon_deactivate", args=[o["coupon"].pk]), {}),
        (
            reverse("billing:settings"),
            {"invoice_prefix": "Z-", "credit_note_prefix": "Y-", "days_until_due": "3"},
        ),
        (
            reverse("billing:subscription_create"),
            {
                "customer": o["customer"].pk,
                "price": o["price"].pk,
                "quantity": "1",
                "collection_method": "charge_automatically",
            },
        ),
        (reverse("billing:subscription_pause", args=[s]), {"mode": "indefinite"}),
        (reverse("billing:subscription_resume", args=[s]), {}),
        (reverse("billing:subscription_cancel", args=[s]), {"when": "now"}),
        (reverse("billing:subscription_undo_cancel", args=[s]), {}),
        (
            reverse("billing:subscription_change", args=[s]),
            {"step": "confirm", "price": o["premium"].pk, "quantity": "2", "when": "now"},
        ),
        (reverse("billing:subscription_migrate", args=[s]), {"price": o["premium"].pk}),
        (reverse("billing:invoice_create"), item),
        (reverse("billing:invoice_finalize", args=[d]), {}),
        (reverse("billing:invoice_void", args=[i]), {}),
        (reverse("billing:invoice_uncollectible", args=[i]), {}),
        (reverse("billing:invoice_mark_paid", args=[i]), {}),
        (reverse("billing:credit_note_create", args=[i]), {"kind": "full"}),
        (reverse("billing:test_clock"), {"to": "2030-01-01T00:00"}),
    ]


def test_viewer_gets_403_on_every_write_and_nothing_changes(viewer_client, objects):
    before = fingerprint()
    for url, data in write_requests(objects):
        response = viewer_client.post(url, data)
        assert response.status_code == 403, url
    assert fingerprint() == before


def test_viewer_can_read_but_sees_no_action_buttons(viewer_client, objects):
    sub_page = viewer_client.get(reverse("billing:subscription_detail", args=[objects["sub"].pk]))
    assert sub_page.status_code == 200
    html = sub_page.content.decode()
    assert reverse("billing:subscription_pause", args=[objects["sub"].pk]) not in html
    assert reverse("billing:subscription_cancel", args=[objects["sub"].pk]) not in html
    inv_page = viewer_client.get(reverse("billing:invoice_detail", args=[objects["invoice"].pk]))
    assert reverse("billing:invoice_void", args=[objects["invoice"].pk]) not in (
        inv_page.content.decode()
    )
    catalog = viewer_client.get(reverse("billing:product_list")).content.decode()
    assert reverse("billing:product_create") not in catalog
    # The forms behind the hidden buttons are refused too.
    assert viewer_client.get(reverse("billing:subscription_create")).status_code == 403
    assert viewer_client.get(reverse("billing:product_create")).status_code == 403


def test_billing_role_bills_but_cannot_change_the_catalog(org, billing_client, objects):
    before = fingerprint()
    catalog_writes = [
        (url, data)
        for url, data in write_requests(objects)
        if "/catalog/" in url or url.endswith("/billing/settings/")
    ]
    for url, data in catalog_writes:
        assert billing_client.post(url, data).status_code == 403, url
    assert fingerprint() == before
    billing_client.post(
        reverse("billing:subscription_pause", args=[objects["sub"].pk]), {"mode": "indefinite"}
    )
    objects["sub"].refresh_from_db()
    assert objects["sub"].status == "paused"


def test_other_organizations_objects_are_404(org, other_org, objects):
    """Org B's owner asks for every URL of org A's objects: always 404, nothing changes."""
    from django.test import Client

    b_client = _client_for(Client, other_org, "owner", "owner@globex.test")
    before = fingerprint()
    o = objects
    read_only = [
        reverse("billing:product_detail", args=[o["product"].pk]),
        reverse("billing:subscription_detail", args=[o["sub"].pk]),
        reverse("billing:subscription_preview_invoices", args=[o["sub"].pk]),
        reverse("billing:invoice_detail", args=[o["invoice"].pk]),
    ]
    writes = [
        reverse("billing:product_update", args=[o["product"].pk]),
        reverse("billing:price_create", args=[o["product"].pk]),
        reverse("billing:price_update", args=[o["price"].pk]),
        reverse("billing:price_archive", args=[o["price"].pk]),
        reverse("billing:tax_deactivate", args=[o["iva"].pk]),
        reverse("billing:coupon_deactivate", args=[o["coupon"].pk]),
        *(
            reverse(f"billing:subscription_{a}", args=[o["sub"].pk])
            for a in ("pause", "resume", "cancel", "undo_cancel", "change", "migrate")
        ),
        *(
            reverse(f"billing:invoice_{a}", args=[o["invoice"].pk])
            for a in ("finalize", "void", "uncollectible", "mark_paid")
        ),
        reverse("billing:credit_note_create", args=[o["invoice"].pk]),
    ]
    data = {"mode": "indefinite", "when": "now", "kind": "full", "name": "x"}
    for url in read_only + writes:
        assert b_client.get(url).status_code == 404, url
    for url in writes:
        assert b_client.post(url, data).status_code == 404, url
    assert fingerprint() == before
    # Lists show only org B's own rows.
    for name in ("billing:subscription_list", "billing:invoice_list", "billing:product_list"):
        html = b_client.get(reverse(name)).content.decode()
        assert "Panadería Las Rosas" not in html
        assert reverse("billing:product_detail", args=[o["product"].pk]) not in html
