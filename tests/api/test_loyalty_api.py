"""The loyalty points API: balance and tier, ledger, rewards, redeem (idempotent, stable error
codes, nothing changed on refusal), staff-style adjustments (audited) and scopes."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from cobro import clock
from cobro.models import AuditEntry
from customers.services.customers import customer_create
from loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgramme,
    LoyaltyTier,
    PointsEntry,
    Redemption,
    Reward,
)
from loyalty.services.ledger import points_adjust
from tests.api.conftest import make_tenant


def _programme(org, **fields) -> LoyaltyProgramme:
    defaults = {"enabled": True, "name": "Club"}
    defaults.update(fields)
    return LoyaltyProgramme.unscoped.update_or_create(organization=org, defaults=defaults)[0]


def _reward(org, **fields) -> Reward:
    values = {
        "name": "Taza",
        "kind": Reward.Kind.GIFT,
        "points_cost": 300,
        "created_at": clock.now(org),
    }
    values.update(fields)
    return Reward.unscoped.create(organization=org, **values)


def _customer(org, name="Ana"):
    return customer_create(organization=org, name=name, email=f"{name.lower()}@{org.slug}.cl")


def _ledger(customer) -> tuple[int, int]:
    entries = PointsEntry.unscoped.filter(customer=customer)
    return entries.count(), int(entries.aggregate(s=Sum("points"))["s"] or 0)


@pytest.mark.django_db
def test_balance_equals_the_ledger_sum_and_shows_the_tier(tenant_a, api_a):
    org = tenant_a.org
    _programme(org)
    LoyaltyTier.unscoped.create(organization=org, name="Plata", threshold_points=0)
    LoyaltyTier.unscoped.create(organization=org, name="Oro", threshold_points=5000)
    ana = _customer(org)
    points_adjust(customer=ana, points=700, reason="bono", actor=None)
    points_adjust(customer=ana, points=-200, reason="corrección", actor=None)
    response = api_a.post(
        f"/api/v1/customers/{ana.pk}/loyalty/adjustments",
        {"points": 1234, "reason": "Disculpas por la caída"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "adjust" and response.json()["points"] == 1234

    body = api_a.get(f"/api/v1/customers/{ana.pk}/loyalty").json()
    ledger = api_a.get(f"/api/v1/loyalty_entries?customer={ana.pk}&limit=100").json()["results"]
    assert body["balance"] == sum(row["points"] for row in ledger) == 700 - 200 + 1234
    assert body["balance"] == _ledger(ana)[1]
    assert body["programme_active"] is True
    assert body["tier"]["name"] == "Plata"
    assert body["next_tier"]["name"] == "Oro"
    # Adjustments do not count as lifetime (earned) points.
    assert body["points_to_next_tier"] == 5000 - body["lifetime_points"]

    # Filters: kind and date; the ledger is newest first and cursor-paginated.
    adjust = api_a.get(f"/api/v1/loyalty_entries?customer={ana.pk}&kind=adjust").json()
    assert len(adjust["results"]) == 3
    page = api_a.get(f"/api/v1/loyalty_entries?customer={ana.pk}&limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert api_a.get(f"/api/v1/loyalty_entries?customer={ana.pk}&kind=nope").status_code == 400
    future = api_a.get("/api/v1/loyalty_entries?created_gte=2999-01-01T00:00:00Z").json()
    assert future["results"] == []

    # The adjustment is audited under the API key, like the dashboard's.
    audits = AuditEntry.unscoped.filter(organization=org, action="loyalty.points_adjusted")
    (audit,) = [a for a in audits if a.changes["points"] == 1234]
    assert audit.changes["reason"] == "Disculpas por la caída"
    assert audit.actor_label.startswith("api key ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"points": 0, "reason": "x"}, "invalid_points", "points"),
        ({"points": 10, "reason": "   "}, "reason_required", "reason"),
        ({"points": 1.5, "reason": "x"}, "not_integer", "points"),
        ({"points": "10", "reason": "x"}, "not_integer", "points"),
        ({"points": 10}, "required", "reason"),
        ({"points": 10, "reason": "x", "extra": 1}, "unknown_field", "extra"),
        ({"points": -10_000, "reason": "x"}, "insufficient_points", "points"),
    ],
)
def test_bad_adjustments_get_a_stable_code_and_change_nothing(tenant_a, api_a, body, code, param):
    _programme(tenant_a.org)
    ana = _customer(tenant_a.org)
    points_adjust(customer=ana, points=50, reason="bono", actor=None)
    before = _ledger(ana)
    response = api_a.post(f"/api/v1/customers/{ana.pk}/loyalty/adjustments", body, format="json")
    assert response.status_code in (400, 409)
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == param
    assert _ledger(ana) == before


@pytest.mark.django_db
def test_redeem_spends_points_and_lists_the_redemption(tenant_a, api_a):
    org = tenant_a.org
    _programme(org)
    ana = _customer(org)
    points_adjust(customer=ana, points=1000, reason="bono", actor=None)
    reward = _reward(org, stock=5)
    rewards = api_a.get("/api/v1/loyalty_rewards?active=true").json()["results"]
    assert [r["id"] for r in rewards] == [reward.pk]
    assert api_a.get(f"/api/v1/loyalty_rewards/{reward.pk}").json()["points_cost"] == 300

    response = api_a.post(
        f"/api/v1/loyalty_rewards/{reward.pk}/redeem", {"customer": ana.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    redemption = response.json()
    assert redemption["customer"] == ana.pk and redemption["points"] == 300
    assert redemption["status"] == "pending" and redemption["channel"] == "api"
    assert api_a.get(f"/api/v1/customers/{ana.pk}/loyalty").json()["balance"] == 700
    listed = api_a.get(f"/api/v1/loyalty_redemptions?customer={ana.pk}").json()["results"]
    assert [r["id"] for r in listed] == [redemption["id"]]
    redeem_entries = api_a.get("/api/v1/loyalty_entries?kind=redeem").json()["results"]
    assert [(e["points"], e["redemption"]) for e in redeem_entries] == [(-300, redemption["id"])]
    reward.refresh_from_db()
    assert reward.stock == 4


@pytest.mark.django_db
def test_insufficient_points_is_a_stable_code_and_the_ledger_is_unchanged(tenant_a, api_a):
    org = tenant_a.org
    _programme(org)
    ana = _customer(org)
    points_adjust(customer=ana, points=100, reason="bono", actor=None)
    reward = _reward(org, points_cost=300, stock=2)
    before = _ledger(ana)
    response = api_a.post(
        f"/api/v1/loyalty_rewards/{reward.pk}/redeem", {"customer": ana.pk}, format="json"
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_points"
    assert "100" in error["message"] and "300" in error["message"]
    assert _ledger(ana) == before
    assert LoyaltyAccount.unscoped.get(customer=ana).balance == 100
    assert not Redemption.unscoped.filter(customer=ana).exists()
    reward.refresh_from_db()
    assert reward.stock == 2


@pytest.mark.django_db
def test_other_refusals_map_to_the_loyalty_error_codes(tenant_a, api_a):
    org = tenant_a.org
    programme = _programme(org)
    ana = _customer(org)
    points_adjust(customer=ana, points=5000, reason="bono", actor=None)

    def redeem(reward):
        return api_a.post(
            f"/api/v1/loyalty_rewards/{reward.pk}/redeem", {"customer": ana.pk}, format="json"
        )

    assert redeem(_reward(org, name="Agotada", stock=0)).json()["error"]["code"] == (
        "reward_out_of_stock"
    )
    assert redeem(_reward(org, name="Retirada", active=False)).json()["error"]["code"] == (
        "reward_inactive"
    )
    limited = _reward(org, name="Una vez", per_customer_limit=1)
    assert redeem(limited).status_code == 201
    second = redeem(limited)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "reward_limit_reached"
    programme.enabled = False
    programme.save()
    before = _ledger(ana)
    off = redeem(_reward(org, name="Apagado"))
    assert off.status_code == 409 and off.json()["error"]["code"] == "programme_disabled"
    assert _ledger(ana) == before


@pytest.mark.django_db(transaction=True)
def test_redeem_twice_in_parallel_with_one_idempotency_key_redeems_once():
    tenant = make_tenant("race")
    org = tenant.org
    _programme(org)
    ana = _customer(org)
    points_adjust(customer=ana, points=1000, reason="bono", actor=None)
    reward = _reward(org, points_cost=300)
    results: list[tuple[int, bytes]] = []
    barrier = threading.Barrier(2)

    def worker():
        try:
            client = tenant.client()
            barrier.wait()
            response = client.post(
                f"/api/v1/loyalty_rewards/{reward.pk}/redeem",
                {"customer": ana.pk},
                format="json",
                HTTP_IDEMPOTENCY_KEY="redeem-1",
            )
            results.append((response.status_code, response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in results)
    # One did the work; the other replayed it or was told the first is still in flight.
    assert codes in ([201, 201], [201, 409]), results
    assert Redemption.unscoped.filter(customer=ana).count() == 1
    assert LoyaltyAccount.unscoped.get(customer=ana).balance == 700
    assert _ledger(ana) == (2, 700)
    # A later retry with the same key replays the first answer and still redeems once.
    replay = tenant.client().post(
        f"/api/v1/loyalty_rewards/{reward.pk}/redeem",
        {"customer": ana.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="redeem-1",
    )
    first = next(content for code, content in results if code == 201)
    assert replay.status_code == 201 and replay.content == first
    assert Redemption.unscoped.filter(customer=ana).count() == 1


@pytest.mark.django_db
def test_another_organizations_customer_is_not_found(tenant_a, tenant_b, api_a):
    _programme(tenant_a.org)
    _programme(tenant_b.org)
    theirs = _customer(tenant_b.org, "Beto")
    points_adjust(customer=theirs, points=1000, reason="bono", actor=None)
    mine = _reward(tenant_a.org)
    their_reward = _reward(tenant_b.org)
    before = _ledger(theirs)
    for url in (
        f"/api/v1/customers/{theirs.pk}/loyalty",
        f"/api/v1/loyalty_rewards/{their_reward.pk}",
        "/api/v1/customers/not-a-number/loyalty",
    ):
        response = api_a.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    adjust = api_a.post(
        f"/api/v1/customers/{theirs.pk}/loyalty/adjustments",
        {"points": 5, "reason": "x"},
        format="json",
    )
    assert adjust.status_code == 404
    redeem = api_a.post(
        f"/api/v1/loyalty_rewards/{mine.pk}/redeem", {"customer": theirs.pk}, format="json"
    )
    assert redeem.status_code == 400
    assert redeem.json()["error"]["code"] == "does_not_exist"
    assert redeem.json()["error"]["param"] == "customer"
    assert api_a.get(f"/api/v1/loyalty_entries?customer={theirs.pk}").json()["results"] == []
    assert _ledger(theirs) == before


@pytest.mark.django_db
def test_scopes_read_and_write(db):
    reader = make_tenant("initech", scopes=["loyalty:read"])
    other = make_tenant("hooli", scopes=["customers:read"])
    _programme(reader.org)
    ana = _customer(reader.org)
    client = reader.client()
    assert client.get(f"/api/v1/customers/{ana.pk}/loyalty").status_code == 200
    refused = client.post(
        f"/api/v1/customers/{ana.pk}/loyalty/adjustments",
        {"points": 5, "reason": "x"},
        format="json",
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "scope_missing"
    assert other.client().get("/api/v1/loyalty_entries").status_code == 403
    assert not PointsEntry.unscoped.filter(customer=ana).exists()
