"""Resources through the API: each endpoint calls the domain services and returns what a
client needs (minor units, ISO 8601, ids)."""

from __future__ import annotations

import pytest

from billing.models import Invoice, Subscription
from tests.api.conftest import make_tenant


def _post(client, url, body=None, **extra):
    return client.post(url, body or {}, format="json", **extra)


@pytest.fixture
def catalog(api_a):
    product = _post(api_a, "/api/v1/products", {"name": "Plan Pro"}).json()
    price = _post(
        api_a,
        "/api/v1/prices",
        {"product": product["id"], "currency": "CLP", "amount_minor": 9990, "interval": "month"},
    ).json()
    customer = _post(
        api_a, "/api/v1/customers", {"name": "Ana Pérez", "email": "ana@example.cl"}
    ).json()
    return product, price, customer


@pytest.mark.django_db
def test_customer_create_update_and_list(api_a, tenant_a):
    created = _post(api_a, "/api/v1/customers", {"name": "Ana", "email": "Ana@Example.cl"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "ana@example.cl" and body["country"] == "CL"
    assert body["created_at"].endswith("Z")
    patched = api_a.patch(f"/api/v1/customers/{body['id']}", {"city": "Valparaíso"}, format="json")
    assert patched.status_code == 200 and patched.json()["city"] == "Valparaíso"
    listed = api_a.get("/api/v1/customers?email=ANA@example.cl").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]


@pytest.mark.django_db
def test_duplicate_customer_email_is_a_409_with_the_customers_code(api_a):
    _post(api_a, "/api/v1/customers", {"name": "Ana", "email": "ana@example.cl"})
    response = _post(api_a, "/api/v1/customers", {"name": "Otra", "email": "ana@example.cl"})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "duplicate_email",
        "message": response.json()["error"]["message"],
        "param": "email",
    }


@pytest.mark.django_db
def test_subscription_lifecycle_through_the_api(api_a, catalog, tenant_a):
    _, price, customer = catalog
    assert price["amount_minor"] == 9990 and price["currency"] == "CLP"
    response = _post(
        api_a, "/api/v1/subscriptions", {"customer": customer["id"], "price": price["id"]}
    )
    assert response.status_code == 201, response.content
    sub = response.json()
    assert sub["status"] == "active"
    invoices = api_a.get(f"/api/v1/invoices?subscription={sub['id']}").json()["results"]
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["total_minor"] == 9990 and invoice["status"] == "open"
    assert invoice["number"] and invoice["lines"][0]["amount_minor"] == 9990

    paused = _post(api_a, f"/api/v1/subscriptions/{sub['id']}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = _post(api_a, f"/api/v1/subscriptions/{sub['id']}/pause")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    resumed = _post(api_a, f"/api/v1/subscriptions/{sub['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"

    bigger = _post(
        api_a,
        "/api/v1/prices",
        {"product": price["product"], "currency": "CLP", "amount_minor": 19990},
    ).json()
    preview = _post(
        api_a, f"/api/v1/subscriptions/{sub['id']}/preview_change", {"price": bigger["id"]}
    )
    assert preview.status_code == 200, preview.content
    assert preview.json()["price"] == bigger["id"]
    assert Subscription.unscoped.get(pk=sub["id"]).price_id == price["id"]  # nothing written
    changed = _post(api_a, f"/api/v1/subscriptions/{sub['id']}/change", {"price": bigger["id"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["subscription"]["price"] == bigger["id"]

    canceled = _post(api_a, f"/api/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": True})
    assert canceled.status_code == 200 and canceled.json()["cancel_at_period_end"] is True
    undone = _post(api_a, f"/api/v1/subscriptions/{sub['id']}/undo_cancel")
    assert undone.json()["cancel_at_period_end"] is False


@pytest.mark.django_db
def test_invoice_actions(api_a, catalog):
    _, _, customer = catalog
    draft = _post(
        api_a,
        "/api/v1/invoices",
        {
            "customer": customer["id"],
            "currency": "CLP",
            "items": [{"description": "Instalación", "unit_amount_minor": 25000, "quantity": 2}],
            "finalize": False,
        },
    )
    assert draft.status_code == 201, draft.content
    inv = draft.json()
    assert inv["status"] == "draft" and inv["total_minor"] == 50000 and inv["number"] is None
    assert api_a.get(f"/api/v1/invoices/{inv['id']}/pdf").json()["error"]["code"] == (
        "document_not_available"
    )
    final = _post(api_a, f"/api/v1/invoices/{inv['id']}/finalize").json()
    assert final["status"] == "open" and final["number"]
    paid = _post(api_a, f"/api/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": True})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert paid.json()["amount_paid_minor"] == 50000
    void = _post(api_a, f"/api/v1/invoices/{inv['id']}/void")
    assert void.status_code == 409 and void.json()["error"]["code"] == "invalid_transition"
    note = _post(api_a, "/api/v1/credit_notes", {"invoice": inv["id"], "reason": "error"})
    assert note.status_code == 201, note.content
    assert note.json()["total_minor"] == 50000


@pytest.mark.django_db
def test_open_invoice_can_be_voided_and_marked_uncollectible(api_a, catalog):
    _, _, customer = catalog
    body = {
        "customer": customer["id"],
        "currency": "CLP",
        "items": [{"description": "Soporte", "unit_amount_minor": 1000}],
    }
    one = _post(api_a, "/api/v1/invoices", body).json()
    two = _post(api_a, "/api/v1/invoices", body).json()
    assert _post(api_a, f"/api/v1/invoices/{one['id']}/void").json()["status"] == "void"
    marked = _post(api_a, f"/api/v1/invoices/{two['id']}/mark_uncollectible").json()
    assert marked["status"] == "uncollectible"


@pytest.mark.django_db
def test_catalog_endpoints(api_a):
    rate = _post(api_a, "/api/v1/tax_rates", {"name": "IVA", "percentage": "19"})
    assert rate.status_code == 201 and rate.json()["percentage"] == "19.0000"
    coupon = _post(
        api_a, "/api/v1/coupons", {"code": "bienvenida", "name": "B", "percent_off": "10"}
    )
    assert coupon.status_code == 201 and coupon.json()["code"] == "BIENVENIDA"
    off = _post(api_a, f"/api/v1/coupons/{coupon.json()['id']}/deactivate")
    assert off.json()["active"] is False
    assert (
        _post(api_a, f"/api/v1/tax_rates/{rate.json()['id']}/deactivate").json()["active"] is False
    )
    usd = _post(
        api_a,
        "/api/v1/coupons",
        {"code": "X", "name": "X", "amount_off_minor": 100, "currency": "USD"},
    )
    assert usd.status_code == 400 and usd.json()["error"]["code"] == "currency_not_enabled"


@pytest.mark.django_db
def test_test_clock_advance_bills_the_next_period_for_sandbox_orgs(db):
    from datetime import UTC, datetime

    from cobro.models import Organization

    tenant = make_tenant("sandbox", sandbox=True)
    Organization.objects.filter(pk=tenant.org.pk).update(
        test_clock_at=datetime(2025, 1, 10, 15, tzinfo=UTC)
    )
    api = tenant.client()
    product = _post(api, "/api/v1/products", {"name": "P"}).json()
    price = _post(
        api, "/api/v1/prices", {"product": product["id"], "currency": "CLP", "amount_minor": 5000}
    ).json()
    customer = _post(api, "/api/v1/customers", {"name": "C", "email": "c@x.cl"}).json()
    sub = _post(api, "/api/v1/subscriptions", {"customer": customer["id"], "price": price["id"]})
    assert sub.json()["started_at"].startswith("2025-01-10")
    advanced = _post(api, "/api/v1/test_clock/advance", {"to": "2025-02-15T00:00:00Z"})
    assert advanced.status_code == 200, advanced.content
    assert advanced.json()["invoices"] == 1
    assert Invoice.unscoped.filter(organization=tenant.org).count() == 2
    assert api.get("/api/v1/test_clock").json()["now"].startswith("2025-02-15")


@pytest.mark.django_db
def test_test_clock_refused_for_live_orgs(api_a):
    response = _post(api_a, "/api/v1/test_clock/advance", {"to": "2030-01-01T00:00:00Z"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
