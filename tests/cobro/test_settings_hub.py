"""The settings hub lists every setting area with what it does, links the ones the member may
open, and says honestly where an area has no page; the API keys page creates a key shown once
and revokes it after a confirmation."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cobro.models import ApiKey
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

HUB = reverse("dashboard:settings")

# Every area of issue #6 ("Settings") and the page it links to.
EXPECTED_LINKS = {
    "organization": "dashboard:organization_settings",
    "members": "dashboard:members",
    "taxes": "billing:tax_list",
    "numbering": "billing:settings",
    "dunning": "payments:dunning_settings",
    "gateways": "payments:gateway_settings",
    "sender": "messaging:settings",
    "templates": "messaging:templates",
    "portal": "customers:portal_settings",
    "loyalty": "loyalty:settings",
    "api_keys": "dashboard:api_keys",
    "webhooks": "dashboard:webhook_endpoints",
}


def _client(org, role: str) -> Client:
    user = UserFactory(email=f"{role}@acme.test")
    MembershipFactory(organization=org, user=user, role=role)
    c = Client()
    c.force_login(user)
    return c


def _areas(response) -> dict[str, dict]:
    return {a["key"]: a for s in response.context["sections"] for a in s["areas"]}


def test_hub_links_every_area_and_each_link_opens_for_the_owner(owner_client):
    response = owner_client.get(HUB)
    assert response.status_code == 200
    areas = _areas(response)
    for key, url_name in EXPECTED_LINKS.items():
        assert areas[key]["url"] == reverse(url_name), key
        assert areas[key]["description"], key
        assert owner_client.get(reverse(url_name)).status_code == 200, url_name
    assert areas["reminders"]["url"].startswith(reverse("messaging:settings") + "#")
    html = response.content.decode()
    assert "Política de cobranza" in html and "Portal de clientes" in html
    # The hub is in the sidebar's settings section.
    assert f'href="{HUB}"' in html


def test_test_clock_shows_only_for_sandbox_organizations(owner_client, org):
    assert "test_clock" not in _areas(owner_client.get(HUB))
    org.is_sandbox = True
    org.save()
    assert _areas(owner_client.get(HUB))["test_clock"]["url"] == reverse("billing:test_clock")


def test_viewer_sees_the_areas_without_links_to_what_they_cannot_open(org):
    viewer = _client(org, "viewer")
    response = viewer.get(HUB)
    assert response.status_code == 200
    areas = _areas(response)
    assert areas["members"]["url"] == reverse("dashboard:members")
    assert areas["taxes"]["url"] == reverse("billing:tax_list")
    # Webhook endpoints are readable by every member (changes are for owners and admins).
    assert areas["webhooks"]["url"] == reverse("dashboard:webhook_endpoints")
    for key in ("organization", "numbering", "dunning", "gateways", "sender", "portal", "api_keys"):
        assert areas[key]["url"] == "", key
        assert areas[key]["locked"], key
        assert viewer.get(reverse(EXPECTED_LINKS[key])).status_code == 403, key
    assert "Solo propietarios y administradores pueden abrirlo." in response.content.decode()


def test_api_key_is_shown_once_then_only_its_prefix(owner_client, org):
    url = reverse("dashboard:api_keys")
    response = owner_client.post(url, {"name": "Tienda en línea", "access": "read_only"})
    assert response.status_code == 200
    raw = response.context["raw_key"]
    key = ApiKey.objects.get(organization=org)
    assert raw.startswith(f"cobro_{key.prefix}_")
    assert key.check_secret(raw.split("_")[2])
    assert key.scopes and all(s.endswith(":read") for s in key.scopes)
    assert response["Cache-Control"] == "no-store"
    # The key works against the API.
    api = Client().get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.status_code == 200
    listing = owner_client.get(url).content.decode()
    assert raw not in listing and key.prefix in listing


def test_custom_scopes_are_validated(owner_client, org):
    url = reverse("dashboard:api_keys")
    bad = owner_client.post(url, {"name": "ERP", "access": "custom", "custom_scopes": "todo"})
    assert bad.status_code == 400
    assert "todo" in bad.content.decode()
    assert not ApiKey.objects.filter(organization=org).exists()
    ok = owner_client.post(
        url, {"name": "ERP", "access": "custom", "custom_scopes": "customers:write invoices:read"}
    )
    assert ok.status_code == 200
    assert ApiKey.objects.get(organization=org).scopes == ["customers:write", "invoices:read"]


def test_revoke_asks_first_then_refuses_the_key(owner_client, org):
    owner_client.post(reverse("dashboard:api_keys"), {"name": "Vieja", "access": "full"})
    key = ApiKey.objects.get(organization=org)
    revoke = reverse("dashboard:api_key_revoke", args=[key.pk])
    confirm = owner_client.get(revoke)
    assert confirm.status_code == 200 and "no se puede deshacer" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert owner_client.post(revoke).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_api_keys_refuse_viewers_billing_staff_and_other_organizations(org, other_org):
    owner = _client(org, "owner")
    owner.post(reverse("dashboard:api_keys"), {"name": "K", "access": "full"})
    key = ApiKey.objects.get(organization=org)
    for role in ("viewer", "billing"):
        c = _client(org, role)
        assert c.get(reverse("dashboard:api_keys")).status_code == 403
        assert (
            c.post(reverse("dashboard:api_keys"), {"name": "X", "access": "full"}).status_code
            == 403
        )
        assert c.post(reverse("dashboard:api_key_revoke", args=[key.pk])).status_code == 403
    stranger = UserFactory(email="owner@globex.test")
    MembershipFactory(organization=other_org, user=stranger, role="owner")
    c = Client()
    c.force_login(stranger)
    assert c.post(reverse("dashboard:api_key_revoke", args=[key.pk])).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.filter(organization=org).count() == 1
