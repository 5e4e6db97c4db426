"""API conventions: one error body with stable codes, strict input, cursor pagination, rate
limits, and Idempotency-Key semantics (replay, mismatch, concurrency)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cobro.services.api_keys import api_key_create, api_key_revoke
from customers.models import Customer
from tests.api.conftest import make_tenant


def _err(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "param"}
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (
            {"name": "P", "currency": "CLP", "amount_minor": 19.9},
            "amount_not_integer",
            "amount_minor",
        ),
        (
            {"name": "P", "currency": "CLP", "amount_minor": "1990"},
            "amount_not_integer",
            "amount_minor",
        ),
        (
            {"name": "P", "currency": "CLP", "amount_minor": True},
            "amount_not_integer",
            "amount_minor",
        ),
        ({"currency": "CLP", "amount_minor": 100, "colour": "red"}, "unknown_field", "colour"),
        ({"currency": "CLP"}, "required", "amount_minor"),
    ],
)
def test_bad_price_input_gets_a_stable_code(api_a, body, code, param):
    product = api_a.post("/api/v1/products", {"name": "P"}, format="json").json()
    body = {k: v for k, v in body.items() if k != "name"} | {"product": product["id"]}
    response = api_a.post("/api/v1/prices", body, format="json")
    assert response.status_code == 400
    error = _err(response)
    assert (error["code"], error["param"]) == (code, param)


@pytest.mark.django_db
def test_malformed_json_and_wrong_media_type(api_a):
    response = api_a.post("/api/v1/customers", '{"name": "x",', content_type="application/json")
    assert response.status_code == 400 and _err(response)["code"] == "malformed_json"
    response = api_a.post("/api/v1/customers", "name=x", content_type="text/plain")
    assert response.status_code == 415 and _err(response)["code"] == "unsupported_media_type"
    response = api_a.post("/api/v1/customers", [1, 2], format="json")
    assert response.status_code == 400 and _err(response)["code"] == "invalid"


@pytest.mark.django_db
def test_wrong_types_and_unknown_methods(api_a):
    response = api_a.post("/api/v1/customers", {"name": 5, "email": ["x"]}, format="json")
    assert response.status_code == 400 and _err(response)["param"] == "email"
    response = api_a.delete("/api/v1/customers")
    assert response.status_code == 405 and _err(response)["code"] == "method_not_allowed"
    assert _err(api_a.get("/api/v1/customers/abc"))["code"] == "not_found"
    assert api_a.get(f"/api/v1/customers/{2**70}").status_code == 404


@pytest.mark.django_db
def test_huge_page_size_and_bad_cursor(api_a):
    response = api_a.get("/api/v1/customers?limit=100000")
    assert response.status_code == 400
    assert _err(response) == {
        "code": "page_size_too_large",
        "message": _err(response)["message"],
        "param": "limit",
    }
    assert _err(api_a.get("/api/v1/customers?cursor=garbage"))["code"] == "invalid_cursor"


@pytest.mark.django_db
def test_cursor_pagination_walks_every_customer_once(api_a, tenant_a):
    for i in range(7):
        api_a.post("/api/v1/customers", {"name": f"C{i}", "email": f"c{i}@x.cl"}, format="json")
    seen, url = [], "/api/v1/customers?limit=3"
    while url:
        page = api_a.get(url).json()
        assert len(page["results"]) <= 3
        seen += [c["id"] for c in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(
        Customer.unscoped.filter(organization=tenant_a.org).values_list("pk", flat=True)
    )
    assert len(seen) == 7


@pytest.mark.django_db
def test_missing_revoked_and_underscoped_keys(tenant_a):
    anonymous = APIClient()
    response = anonymous.get("/api/v1/customers")
    assert response.status_code == 401 and _err(response)["code"] == "not_authenticated"
    key, raw = api_key_create(
        organization=tenant_a.org, name="ro", scopes=["customers:read"], actor=None
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/customers").status_code == 200
    response = client.post("/api/v1/customers", {"name": "A", "email": "a@x.cl"}, format="json")
    assert response.status_code == 403 and _err(response)["code"] == "scope_missing"
    assert _err(client.get("/api/v1/invoices"))["code"] == "scope_missing"
    api_key_revoke(api_key=key, actor=None)
    response = client.get("/api/v1/customers")
    assert response.status_code == 401 and _err(response)["code"] == "api_key_revoked"


@pytest.mark.django_db
def test_rate_limit_per_key_answers_429_with_retry_after(settings, tenant_a, tenant_b):
    settings.COBRO_API_RATE_LIMIT = "3/min"
    api_a, api_b = tenant_a.client(), tenant_b.client()
    statuses = [api_a.get("/api/v1/customers").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api_a.get("/api/v1/customers")
    assert _err(response)["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert api_b.get("/api/v1/customers").status_code == 200  # another key, its own budget


@pytest.mark.django_db
def test_idempotency_key_replays_the_first_response(api_a, tenant_a):
    body = {"name": "Ana", "email": "ana@x.cl"}
    first = api_a.post("/api/v1/customers", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = api_a.post("/api/v1/customers", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Customer.unscoped.filter(organization=tenant_a.org).count() == 1
    other = api_a.post(
        "/api/v1/customers",
        {"name": "Otra", "email": "o@x.cl"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert other.status_code == 409 and _err(other)["code"] == "idempotency_key_reused"
    # Keys belong to one organization: B may use "k1" for its own request.
    b = make_tenant("other").client()
    assert (
        b.post("/api/v1/customers", body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code
        == 201
    )


@pytest.mark.django_db
def test_idempotency_replays_errors_too(api_a):
    body = {"name": "Ana", "email": "not-an-email"}
    first = api_a.post("/api/v1/customers", body, format="json", HTTP_IDEMPOTENCY_KEY="e1")
    second = api_a.post("/api/v1/customers", body, format="json", HTTP_IDEMPOTENCY_KEY="e1")
    assert first.status_code == 400 and second.content == first.content


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_have_one_side_effect():
    tenant = make_tenant("race")
    body = {"name": "Ana", "email": "ana@race.cl"}
    results: list[int] = []
    barrier = threading.Barrier(6)

    def worker():
        try:
            client = tenant.client()
            barrier.wait()
            response = client.post(
                "/api/v1/customers", body, format="json", HTTP_IDEMPOTENCY_KEY="same"
            )
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Customer.unscoped.filter(organization=tenant.org).count() == 1
    assert sorted(set(results)) <= [201, 409] and 201 in results
    assert all(code in (201, 409) for code in results)
