"""Payment methods, payments and refunds through the API: tokens only, refunds as credit
notes, the last card of a charged subscription kept, scopes per resource."""

from __future__ import annotations

import pytest

from billing.models import CreditNote, Invoice
from billing.payments.models import PaymentAttempt, PaymentMethod
from tests.api.conftest import make_tenant

pytestmark = pytest.mark.django_db


def _post(client, url, body=None):
    return client.post(url, body or {}, format="json")


@pytest.fixture
def world(api_a):
    product = _post(api_a, "/api/v1/products", {"name": "Plan Pro"}).json()
    price = _post(
        api_a,
        "/api/v1/prices",
        {"product": product["id"], "currency": "CLP", "amount_minor": 9990, "interval": "month"},
    ).json()
    customer = _post(
        api_a, "/api/v1/customers", {"name": "Ana Pérez", "email": "ana@example.cl"}
    ).json()
    return price, customer


def test_attach_a_sandbox_card_and_list_it(api_a, world):
    _, customer = world
    created = _post(
        api_a,
        "/api/v1/payment_methods",
        {"customer": customer["id"], "gateway": "sandbox", "token": "tok_sandbox_success"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["type"], body["brand"], body["last4"], body["is_default"]) == (
        "card",
        "visa",
        "4242",
        True,
    )
    assert "token" not in body and "gateway_token" not in body
    listed = api_a.get(f"/api/v1/payment_methods?customer={customer['id']}").json()["results"]
    assert [m["id"] for m in listed] == [body["id"]]
    transfer = _post(
        api_a, "/api/v1/payment_methods", {"customer": customer["id"], "type": "bank_transfer"}
    )
    assert transfer.status_code == 201
    assert transfer.json()["is_default"] is False  # offline: default only when asked
    made = _post(api_a, f"/api/v1/payment_methods/{transfer.json()['id']}/set_default")
    assert made.status_code == 200 and made.json()["is_default"] is True
    first = api_a.get(f"/api/v1/payment_methods/{body['id']}").json()
    assert first["is_default"] is False


def test_a_card_number_or_a_bad_token_is_refused_and_nothing_is_stored(api_a, world):
    _, customer = world
    for token in ("4242424242424242", "tok_nonsense"):
        response = _post(
            api_a,
            "/api/v1/payment_methods",
            {"customer": customer["id"], "gateway": "sandbox", "token": token},
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "gateway_error"
    missing = _post(api_a, "/api/v1/payment_methods", {"customer": customer["id"]})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "token"
    offline_token = _post(
        api_a,
        "/api/v1/payment_methods",
        {"customer": customer["id"], "type": "cash", "token": "tok_sandbox_success"},
    )
    assert offline_token.status_code == 400
    assert PaymentMethod.unscoped.count() == 0


def test_pay_then_refund_partly_and_fully_with_credit_notes(api_a, world):
    price, customer = world
    _post(
        api_a,
        "/api/v1/payment_methods",
        {"customer": customer["id"], "gateway": "sandbox", "token": "tok_sandbox_success"},
    )
    sub = _post(
        api_a,
        "/api/v1/subscriptions",
        {"customer": customer["id"], "price": price["id"], "collection_method": "send_invoice"},
    ).json()
    invoice = Invoice.unscoped.get(subscription_id=sub["id"])
    paid = _post(api_a, f"/api/v1/invoices/{invoice.pk}/pay", {"paid_out_of_band": False})
    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == "paid"

    payments = api_a.get(f"/api/v1/payments?invoice={invoice.pk}").json()["results"]
    assert len(payments) == 1
    payment = payments[0]
    assert (payment["status"], payment["amount_minor"], payment["currency"]) == (
        "succeeded",
        invoice.total_minor,
        "CLP",
    )
    assert payment["refundable_minor"] == invoice.total_minor

    too_much = _post(
        api_a,
        f"/api/v1/payments/{payment['id']}/refund",
        {"amount_minor": invoice.total_minor + 1},
    )
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "refund_exceeds_payment"
    as_float = _post(api_a, f"/api/v1/payments/{payment['id']}/refund", {"amount_minor": 10.5})
    assert as_float.status_code == 400
    assert as_float.json()["error"]["code"] == "amount_not_integer"
    assert CreditNote.unscoped.count() == 0

    part = _post(
        api_a, f"/api/v1/payments/{payment['id']}/refund", {"amount_minor": 1000, "reason": "x"}
    )
    assert part.status_code == 201, part.content
    assert part.json()["status"] == "succeeded" and part.json()["credit_note"] is not None
    after = api_a.get(f"/api/v1/payments/{payment['id']}").json()
    assert (after["status"], after["refunded_minor"]) == ("partially_refunded", 1000)
    rest = _post(api_a, f"/api/v1/payments/{payment['id']}/refund")
    assert rest.status_code == 201
    assert rest.json()["amount_minor"] == invoice.total_minor - 1000
    final = api_a.get(f"/api/v1/payments/{payment['id']}").json()
    assert (final["status"], final["refundable_minor"]) == ("refunded", 0)
    again = _post(api_a, f"/api/v1/payments/{payment['id']}/refund")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "refund_not_allowed"
    refunds = api_a.get(f"/api/v1/refunds?payment={payment['id']}").json()["results"]
    assert sorted(r["amount_minor"] for r in refunds) == sorted([1000, invoice.total_minor - 1000])
    assert CreditNote.unscoped.count() == 2


def test_the_last_card_of_a_charged_subscription_stays_until_replaced(api_a, world):
    price, customer = world
    card = _post(
        api_a,
        "/api/v1/payment_methods",
        {"customer": customer["id"], "gateway": "sandbox", "token": "tok_sandbox_success"},
    ).json()
    _post(api_a, "/api/v1/subscriptions", {"customer": customer["id"], "price": price["id"]})
    refused = api_a.delete(f"/api/v1/payment_methods/{card['id']}")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "payment_method_required"
    other = _post(
        api_a,
        "/api/v1/payment_methods",
        {
            "customer": customer["id"],
            "gateway": "sandbox",
            "token": "tok_sandbox_success_mastercard",
            "make_default": False,
        },
    ).json()
    assert api_a.delete(f"/api/v1/payment_methods/{card['id']}").status_code == 204
    assert api_a.get(f"/api/v1/payment_methods/{card['id']}").status_code == 404
    assert api_a.get(f"/api/v1/payment_methods/{other['id']}").json()["is_default"] is True


def test_refunds_need_their_own_write_scope(world, tenant_a, api_a):
    price, customer = world
    _post(
        api_a,
        "/api/v1/payment_methods",
        {"customer": customer["id"], "gateway": "sandbox", "token": "tok_sandbox_success"},
    )
    sub = _post(
        api_a,
        "/api/v1/subscriptions",
        {"customer": customer["id"], "price": price["id"], "collection_method": "send_invoice"},
    ).json()
    invoice = Invoice.unscoped.get(subscription_id=sub["id"])
    _post(api_a, f"/api/v1/invoices/{invoice.pk}/pay", {"paid_out_of_band": False})
    attempt = PaymentAttempt.unscoped.get(invoice=invoice)

    from cobro.services.api_keys import api_key_create

    _, raw = api_key_create(
        organization=tenant_a.org, name="ro", scopes=["payments:write"], actor=None
    )
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(f"/api/v1/payments/{attempt.pk}").status_code == 200
    response = _post(client, f"/api/v1/payments/{attempt.pk}/refund")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"
    assert client.get("/api/v1/payment_methods").status_code == 403


def test_another_organizations_customer_cannot_get_a_method(api_a, world):
    other = make_tenant("globex")
    theirs = _post(
        other.client(), "/api/v1/customers", {"name": "B", "email": "b@globex.cl"}
    ).json()
    response = _post(
        api_a,
        "/api/v1/payment_methods",
        {"customer": theirs["id"], "gateway": "sandbox", "token": "tok_sandbox_success"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "does_not_exist"
    assert PaymentMethod.unscoped.count() == 0
