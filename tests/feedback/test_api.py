"""The survey responses API: list, retrieve, filters, scopes and tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cobro import clock
from feedback.services.surveys import survey_answer, survey_request
from tests.api.conftest import _generous_rate_limit, make_tenant  # noqa: F401 - fixture
from tests.api.conftest import api_a as api_a  # noqa: F401 - fixture
from tests.api.conftest import tenant_a as tenant_a  # noqa: F401 - fixture
from tests.api.conftest import tenant_b as tenant_b  # noqa: F401 - fixture
from tests.billing.factories import CustomerFactory
from tests.feedback.conftest import T0

pytestmark = pytest.mark.django_db


def _answer(org, kind, score, at):
    customer = CustomerFactory(organization=org)
    with clock.frozen(at):
        request = survey_request(customer=customer, kind=kind, source="manual")
        return survey_answer(request=request, score=score, comment="ok", channel="email")


def test_list_filter_and_retrieve_survey_responses(tenant_a, tenant_b, api_a):
    nps = _answer(tenant_a.org, "nps", 9, T0)
    csat = _answer(tenant_a.org, "csat", 2, T0 + timedelta(days=10))
    theirs = _answer(tenant_b.org, "nps", 1, T0)
    listed = api_a.get("/api/v1/survey_responses")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [csat.pk, nps.pk]
    only_nps = api_a.get("/api/v1/survey_responses", {"kind": "nps"}).json()["results"]
    assert [r["id"] for r in only_nps] == [nps.pk]
    since = (T0 + timedelta(days=5)).isoformat()
    recent = api_a.get("/api/v1/survey_responses", {"created_gte": since}).json()["results"]
    assert [r["id"] for r in recent] == [csat.pk]
    one = api_a.get(f"/api/v1/survey_responses/{nps.pk}").json()
    assert (one["kind"], one["score"], one["customer"], one["channel"]) == (
        "nps",
        9,
        nps.customer_id,
        "email",
    )
    assert api_a.get(f"/api/v1/survey_responses/{theirs.pk}").status_code == 404
    bad = api_a.get("/api/v1/survey_responses", {"kind": "ces"})
    assert bad.status_code == 400


def test_a_key_without_the_scope_is_refused(db):
    tenant = make_tenant("initech", scopes=["customers:read"])
    response = tenant.client().get("/api/v1/survey_responses")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"
