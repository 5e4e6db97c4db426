"""Tenant isolation through the API, for every resource: organization A's key gets 404 for
B's objects (read and every action) and A's lists never show B's rows."""

from __future__ import annotations

import pytest
from django.db import transaction

from billing.payments.services.charging import invoice_pay_now
from billing.payments.services.methods import payment_method_add_card
from billing.payments.services.refunds import payment_refund
from billing.services.catalog import coupon_create, price_create, product_create, tax_rate_create
from billing.services.subscriptions import subscription_create
from cobro.events import event_emit
from cobro.webhooks.models import WebhookDelivery
from cobro.webhooks.services import webhook_deliveries_fanout, webhook_endpoint_create
from customers.services.customers import customer_create
from tests.api.conftest import make_tenant


def _world(org, settings) -> dict[str, object]:
    settings.COBRO_WEBHOOKS_ALLOW_PRIVATE = True
    customer = customer_create(
        organization=org, name=f"{org.slug} client", email=f"c@{org.slug}.cl"
    )
    product = product_create(organization=org, name=f"{org.slug} plan")
    price = price_create(product=product, currency="CLP", amount_minor=1000)
    method = payment_method_add_card(
        customer=customer, gateway="sandbox", token="tok_sandbox_success"
    )
    sub = subscription_create(customer=customer, price=price)
    from billing.models import Invoice

    invoice = Invoice.unscoped.get(subscription=sub)
    attempt = invoice_pay_now(invoice=invoice)
    refund = payment_refund(attempt=attempt, amount_minor=100)
    note = refund.credit_note  # a refund is credited with a credit note
    endpoint, _ = webhook_endpoint_create(organization=org, url="http://127.0.0.1:9/x")
    with transaction.atomic():
        event = event_emit(organization=org, type="demo.event", payload={"org": org.slug})
    webhook_deliveries_fanout(event)
    return {
        "customers": customer,
        "products": product,
        "prices": price,
        "subscriptions": sub,
        "invoices": invoice,
        "credit_notes": note,
        "payment_methods": method,
        "payments": attempt,
        "refunds": refund,
        "tax_rates": tax_rate_create(organization=org, name=f"{org.slug} IVA", percentage="19"),
        "coupons": coupon_create(organization=org, code=f"{org.slug}X", name="c", percent_off="5"),
        "events": event,
        "webhook_endpoints": endpoint,
        "webhook_deliveries": WebhookDelivery.unscoped.get(event_id=event.id),
    }


ACTIONS = {
    "customers": [("patch", "")],
    "products": [("patch", "")],
    "prices": [("patch", ""), ("post", "/archive")],
    "coupons": [("post", "/deactivate")],
    "tax_rates": [("post", "/deactivate")],
    "subscriptions": [
        ("post", "/pause"),
        ("post", "/resume"),
        ("post", "/cancel"),
        ("post", "/undo_cancel"),
        ("post", "/change"),
        ("post", "/preview_change"),
    ],
    "invoices": [
        ("post", "/finalize"),
        ("post", "/void"),
        ("post", "/mark_uncollectible"),
        ("post", "/pay"),
        ("get", "/pdf"),
    ],
    "payment_methods": [("post", "/set_default"), ("delete", "")],
    "payments": [("post", "/refund")],
    "webhook_endpoints": [("patch", ""), ("post", "/rotate_secret")],
    "webhook_deliveries": [("post", "/replay")],
}


@pytest.mark.django_db
def test_a_key_never_reaches_another_organizations_objects(settings):
    a, b = make_tenant("acme"), make_tenant("globex")
    mine, theirs = _world(a.org, settings), _world(b.org, settings)
    client = a.client()
    for resource, obj in theirs.items():
        own = client.get(f"/api/v1/{resource}/{mine[resource].pk}")
        assert own.status_code == 200, (resource, own.content)
        response = client.get(f"/api/v1/{resource}/{obj.pk}")
        assert response.status_code == 404, resource
        assert response.json()["error"]["code"] == "not_found"
        for method, suffix in ACTIONS.get(resource, []):
            response = getattr(client, method)(
                f"/api/v1/{resource}/{obj.pk}{suffix}", {}, format="json"
            )
            assert response.status_code == 404, (resource, suffix, response.status_code)
        listed = client.get(f"/api/v1/{resource}?limit=100").json()["results"]
        ids = {str(row["id"]) for row in listed}
        assert str(mine[resource].pk) in ids, resource
        assert str(obj.pk) not in ids, resource
        assert "globex" not in str(listed), resource
    # Referring to B's objects in a body is "no such object", not a leak or a write.
    response = client.post(
        "/api/v1/subscriptions",
        {"customer": theirs["customers"].pk, "price": mine["prices"].pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "does_not_exist",
        "message": response.json()["error"]["message"],
        "param": "customer",
    }
