"""Referrals on the staff pages (new-customer form, customer page, referrals list), in the
portal, and in the API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cobro import events
from cobro.services.api_keys import api_key_create
from cobro.tenancy.context import use_organization
from customers.models import Customer
from customers.portal.session import SESSION_KEY
from loyalty.models import LoyaltyProgramme, Referral
from loyalty.services.referrals import referral_apply, referral_code_for
from tests.billing.factories import CustomerFactory
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.loyalty.conftest import paid_invoice


@pytest.fixture
def referrals_on(programme):
    LoyaltyProgramme.unscoped.filter(pk=programme.pk).update(
        referrals_enabled=True, referrer_points=500, referred_points=200, referral_cap=0
    )
    programme.refresh_from_db()
    return programme


@pytest.fixture
def referrer(org):
    return CustomerFactory(organization=org, name="Rita Referente", email="rita@example.cl")


def _code(customer) -> str:
    return referral_code_for(customer=customer).code


def _new_customer_post(**extra):
    return {
        "name": "Nico Nuevo",
        "email": "nico@example.cl",
        "country": "CL",
        "locale": "es-419",
        **extra,
    }


def test_staff_create_a_customer_with_a_referral_code(owner_client, in_org, referrals_on, referrer):
    form = owner_client.get(reverse("customers:create")).content.decode()
    assert 'name="referral_code"' in form and "Código de referido" in form
    response = owner_client.post(
        reverse("customers:create"), _new_customer_post(referral_code=_code(referrer))
    )
    assert response.status_code == 302
    referral = Referral.unscoped.get()
    assert referral.referrer == referrer
    assert referral.referred.email == "nico@example.cl"
    assert referral.source == Referral.Source.STAFF


def test_bad_referral_code_refuses_the_form_and_creates_nothing(
    owner_client, in_org, referrals_on, referrer
):
    response = owner_client.post(
        reverse("customers:create"), _new_customer_post(referral_code="NOPE2345")
    )
    assert response.status_code == 400
    assert "Este código de referido no existe." in response.content.decode()
    assert not Customer.unscoped.filter(email="nico@example.cl").exists()
    # The referrer's own email is a self-referral.
    response = owner_client.post(
        reverse("customers:create"),
        _new_customer_post(email="RITA+otra@example.cl", referral_code=_code(referrer)),
    )
    assert response.status_code == 400
    assert "no puede referirse a sí mismo" in response.content.decode()
    assert not Referral.unscoped.exists()


def test_without_a_code_the_form_works_as_before(owner_client, in_org, referrals_on):
    response = owner_client.post(reverse("customers:create"), _new_customer_post())
    assert response.status_code == 302
    assert not Referral.unscoped.exists()


def test_staff_see_referral_status_and_apply_a_code_on_the_customer_page(
    owner_client, in_org, org, referrals_on, referrer
):
    newcomer = CustomerFactory(organization=org, name="Nico Nuevo")
    url = reverse("loyalty:customer_referral", kwargs={"pk": newcomer.pk})
    bad = owner_client.post(url, {"code": _code(newcomer)})
    assert bad.status_code == 400 and "sí mismo" in bad.content.decode()
    assert owner_client.post(url, {"code": _code(referrer)}).status_code == 302
    page = owner_client.get(reverse("loyalty:customer", kwargs={"pk": referrer.pk}))
    html = page.content.decode()
    assert _code(referrer) in html and "Nico Nuevo" in html and "Esperando el primer pago" in html
    paid_invoice(newcomer)
    events.events_dispatch_pending()
    listing = owner_client.get(reverse("loyalty:referrals") + "?status=rewarded").content.decode()
    assert "Rita Referente" in listing and "500 / 200" in listing


def test_viewer_cannot_apply_a_code(client, in_org, org, referrals_on, referrer):
    viewer = UserFactory(email="viewer@acme.test")
    MembershipFactory(organization=org, user=viewer, role="viewer")
    client.force_login(viewer)
    newcomer = CustomerFactory(organization=org)
    page = client.get(reverse("loyalty:customer", kwargs={"pk": newcomer.pk})).content.decode()
    assert "Aplicar código de referido" not in page
    url = reverse("loyalty:customer_referral", kwargs={"pk": newcomer.pk})
    assert client.post(url, {"code": _code(referrer)}).status_code == 403
    assert not Referral.unscoped.exists()


def test_portal_shows_the_code_link_and_referral_status(
    client, in_org, org, referrals_on, referrer
):
    newcomer = CustomerFactory(organization=org, name="Nico Nuevo")
    referral_apply(customer=newcomer, code=_code(referrer), source="portal")
    session = client.session
    session[SESSION_KEY] = {"org": org.pk, "customer": referrer.pk}
    session.save()
    page = client.get(reverse("portal:loyalty", kwargs={"org_slug": org.slug})).content.decode()
    assert _code(referrer) in page
    assert f"/s/{org.slug}/?ref={_code(referrer)}" in page
    assert "Nico Nuevo" in page and "Esperando el primer pago" in page


# -- API ------------------------------------------------------------------------------------


def _api(org, scopes=("*",)) -> APIClient:
    _, raw = api_key_create(organization=org, name="t", scopes=list(scopes), actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.COBRO_API_RATE_LIMIT = "100000/s"


def test_api_apply_list_and_idempotency(in_org, org, referrals_on, referrer):
    api = _api(org)
    newcomer = CustomerFactory(organization=org)
    body = {"customer": newcomer.pk, "code": _code(referrer)}
    first = api.post("/api/v1/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "pending" and first.json()["referrer"] == referrer.pk
    replay = api.post("/api/v1/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Referral.unscoped.count() == 1
    again = api.post("/api/v1/referrals", body, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "referral_already_referred"

    for _ in range(2):
        referral_apply(
            customer=CustomerFactory(organization=org), code=_code(referrer), source="api"
        )
    page = api.get(f"/api/v1/referrals?referrer={referrer.pk}&limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1
    code = api.get(f"/api/v1/customers/{referrer.pk}/referral_code").json()
    assert code["code"] == _code(referrer) and code["link"].endswith(code["code"])


def test_api_errors_have_stable_codes_and_change_nothing(in_org, org, referrals_on, referrer):
    api = _api(org)
    newcomer = CustomerFactory(organization=org)
    other = OrganizationFactory(slug="globex")
    with use_organization(other):
        stranger = CustomerFactory(organization=other)
        foreign_code = _code(stranger)
    cases = [
        ({"customer": newcomer.pk, "code": "NOPE2345"}, 400, "referral_code_unknown"),
        ({"customer": newcomer.pk, "code": foreign_code}, 400, "referral_code_other_organization"),
        ({"customer": referrer.pk, "code": _code(referrer)}, 400, "referral_self"),
        ({"customer": stranger.pk, "code": _code(referrer)}, 400, "does_not_exist"),
        ({"customer": newcomer.pk}, 400, "required"),
        ({"customer": newcomer.pk, "code": "X", "extra": 1}, 400, "unknown_field"),
    ]
    for body, status, code in cases:
        response = api.post("/api/v1/referrals", body, format="json")
        assert response.status_code == status, (body, response.content)
        assert response.json()["error"]["code"] == code
    assert not Referral.unscoped.exists()
    assert api.get(f"/api/v1/customers/{stranger.pk}/referral_code").status_code == 404
    read_only = _api(org, scopes=("referrals:read",))
    assert read_only.get("/api/v1/referrals").status_code == 200
    denied = read_only.post(
        "/api/v1/referrals", {"customer": newcomer.pk, "code": _code(referrer)}, format="json"
    )
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "scope_missing"
