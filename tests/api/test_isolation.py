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
from cobro import clock
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
        **_loyalty_and_feedback(org, customer),
    }


def _loyalty_and_feedback(org, customer) -> dict[str, object]:
    """Objects of the loyalty and feedback APIs (referrals, survey responses, points)."""
    from feedback.services.surveys import survey_answer, survey_request
    from loyalty.models import LoyaltyProgramme, Reward
    from loyalty.services.ledger import points_adjust
    from loyalty.services.referrals import referral_apply, referral_code_for
    from loyalty.services.rewards import reward_redeem

    LoyaltyProgramme.unscoped.update_or_create(
        organization=org, defaults={"enabled": True, "referrals_enabled": True}
    )
    entry = points_adjust(customer=customer, points=1000, reason="bono", actor=None)
    reward = Reward.unscoped.create(
        organization=org,
        name=f"{org.slug} taza",
        kind=Reward.Kind.GIFT,
        points_cost=100,
        created_at=clock.now(org),
    )
    redemption = reward_redeem(customer=customer, reward=reward)
    new_customer = customer_create(
        organization=org, name=f"{org.slug} referred", email=f"r@{org.slug}.cl"
    )
    code = referral_code_for(customer=customer)
    referral = referral_apply(customer=new_customer, code=code.code, source="api")
    request = survey_request(customer=customer, kind="nps", source="manual")
    response = survey_answer(request=request, score=4, comment="ok", channel="portal")
    return {
        "loyalty_entries": entry,
        "loyalty_rewards": reward,
        "loyalty_redemptions": redemption,
        "referrals": referral,
        "survey_responses": response,
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
    "loyalty_rewards": [("post", "/redeem")],
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


@pytest.mark.django_db
def test_customer_scoped_loyalty_routes_and_bodies_stay_in_the_organization(settings):
    """Routes under /customers/{id}/ (points balance, adjustments, referral code) answer 404
    for another organization's customer, and a body naming another organization's customer
    is "no such object": nothing is written on either side."""
    from loyalty.models import PointsEntry, Redemption

    a, b = make_tenant("acme"), make_tenant("globex")
    mine, theirs = _world(a.org, settings), _world(b.org, settings)
    client = a.client()
    own_id, their_id = mine["customers"].pk, theirs["customers"].pk
    before = (PointsEntry.unscoped.count(), Redemption.unscoped.count())
    for suffix in ("loyalty", "referral_code"):
        assert client.get(f"/api/v1/customers/{own_id}/{suffix}").status_code == 200
        response = client.get(f"/api/v1/customers/{their_id}/{suffix}")
        assert response.status_code == 404, suffix
        assert response.json()["error"]["code"] == "not_found"
    response = client.post(
        f"/api/v1/customers/{their_id}/loyalty/adjustments",
        {"points": 5, "reason": "x"},
        format="json",
    )
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/loyalty_rewards/{mine['loyalty_rewards'].pk}/redeem",
        {"customer": their_id},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "does_not_exist"
    assert response.json()["error"]["param"] == "customer"
    assert (PointsEntry.unscoped.count(), Redemption.unscoped.count()) == before
