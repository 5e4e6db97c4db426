"""The staff shell: organization switching and creation, settings, language, layout."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from cobro.models import Membership, Organization
from tests.factories import MembershipFactory, UserFactory


def client_for(user, lang="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.cookies["django_language"] = lang
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_switching_organization_changes_what_the_dashboard_shows(org, other_org, owner):
    MembershipFactory(organization=other_org, user=owner, role="viewer")
    client = client_for(owner)
    assert "<h1>Acme SpA</h1>" in client.get("/").content.decode()

    response = client.post("/organizations/switch/", {"organization": other_org.pk})

    assert response.status_code == 302
    body = client.get("/").content.decode()
    assert "<h1>Globex Ltda</h1>" in body
    # The viewer role in Globex hides the organization settings entry.
    assert "/settings/organization/" not in body


@pytest.mark.django_db
def test_cannot_switch_to_an_organization_you_do_not_belong_to(org, other_org, owner):
    client = client_for(owner)

    response = client.post("/organizations/switch/", {"organization": other_org.pk}, follow=True)

    body = response.content.decode()
    assert "You are not a member of that organization" in body
    assert "<h1>Acme SpA</h1>" in body
    assert "Globex" not in body


@pytest.mark.django_db
def test_switcher_lists_only_own_organizations(org, other_org, owner):
    OrganizationFactory = type(org)  # noqa: N806
    third = OrganizationFactory.objects.create(
        legal_name="Third", display_name="Tercera", slug="tercera"
    )
    MembershipFactory(organization=third, user=owner, role="admin")
    body = client_for(owner).get("/").content.decode()
    assert "Tercera" in body
    assert "Globex" not in body


@pytest.mark.django_db
def test_user_without_organization_is_sent_to_create_one():
    user = UserFactory(email="solo@example.test")
    client = client_for(user)

    response = client.get("/")
    assert response["Location"] == "/organizations/new/"

    client.post(
        "/organizations/new/",
        {
            "display_name": "Solo",
            "legal_name": "Solo SAS",
            "slug": "solo",
            "country": "AR",
            "tax_id": "20267565393",
        },
    )
    org = Organization.objects.get(slug="solo")
    assert (org.default_currency, org.tax_id) == ("ARS", "20-26756539-3")
    assert Membership.objects.get(user=user, organization=org).role == "owner"
    assert "<h1>Solo</h1>" in client.get("/").content.decode()


@pytest.mark.django_db
def test_create_organization_with_taken_slug_shows_error(org, owner):
    response = client_for(owner).post(
        "/organizations/new/",
        {"display_name": "X", "legal_name": "X", "slug": "acme", "country": "US", "tax_id": "1"},
    )
    assert "is already taken" in response.content.decode()
    assert Organization.objects.filter(slug="acme").count() == 1


@pytest.mark.django_db
def test_owner_updates_organization_profile(org, owner):
    client = client_for(owner)
    response = client.post(
        "/settings/organization/",
        {
            "display_name": "Acme Nueva",
            "legal_name": "Acme SpA",
            "tax_id": "760864285",
            "address": "Av. Siempre Viva 123",
            "brand_color": "#aa3300",
            "time_zone": "America/Santiago",
            "locale": "es-419",
            "require_mfa": "",
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.display_name, org.tax_id, org.brand_color) == (
        "Acme Nueva",
        "76.086.428-5",
        "#aa3300",
    )
    assert "--brand:#aa3300" in client.get("/").content.decode()


def _png(size=(10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, "PNG")
    return buf.getvalue()


def _settings_data(**extra):
    data = {
        "display_name": "Acme SpA",
        "legal_name": "Acme SpA",
        "tax_id": "",
        "address": "",
        "brand_color": "#1f6feb",
        "time_zone": "America/Santiago",
        "locale": "es-419",
    }
    data.update(extra)
    return data


@pytest.mark.django_db
def test_logo_upload_accepts_png(org, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(owner)
    client.post(
        "/settings/organization/",
        _settings_data(logo=SimpleUploadedFile("logo.png", _png(), content_type="image/png")),
    )
    org.refresh_from_db()
    assert org.logo.name.startswith("logos/")


@pytest.mark.django_db
def test_logo_upload_rejects_too_large_and_non_images(org, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(owner)
    big = SimpleUploadedFile(
        "big.png", _png() + b"\0" * (1024 * 1024 + 1), content_type="image/png"
    )
    response = client.post("/settings/organization/", _settings_data(logo=big))
    assert "The logo is too large" in response.content.decode()

    fake = SimpleUploadedFile("x.png", b"<svg></svg>", content_type="image/png")
    response = client.post("/settings/organization/", _settings_data(logo=fake))
    assert response.status_code == 200
    org.refresh_from_db()
    assert not org.logo


@pytest.mark.django_db
def test_organization_settings_need_manage_permission(org, owner):
    billing = UserFactory(email="b@acme.test")
    MembershipFactory(organization=org, user=billing, role="billing")
    client = client_for(billing)

    assert client.get("/settings/organization/").status_code == 403
    response = client.post("/settings/organization/", _settings_data(display_name="Hacked"))
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.display_name == "Acme SpA"


@pytest.mark.django_db
def test_dashboard_is_spanish_by_default_and_switches_to_english(owner_client):
    assert "Inicio" in owner_client.get("/").content.decode()

    owner_client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    body = owner_client.get("/").content.decode()
    assert 'lang="en"' in body
    assert "Welcome to Cobro" in body


@pytest.mark.django_db
def test_shell_is_accessible_and_loads_no_external_or_inline_script(owner_client):
    response = owner_client.get("/")
    body = response.content.decode()
    assert 'class="skip-link" href="#main"' in body
    assert '<main id="main"' in body
    assert "<nav" in body and "<aside" in body
    assert "/static/django_htmx/htmx" in body
    for tag in re.findall(r"<script[^>]*>", body):
        assert 'src="/static/' in tag or "nonce=" in tag
    assert "https://" not in " ".join(re.findall(r"<(?:script|link)[^>]*>", body))
    assert "script-src" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_empty_state_partial_renders_title_text_and_action():
    from django.template.loader import render_to_string

    html = render_to_string(
        "dashboard/_empty_state.html",
        {
            "title": "No invoices",
            "text": "Nothing billed yet.",
            "action_url": "/x/",
            "action_label": "Bill",
        },
    )
    assert "No invoices" in html and "Nothing billed yet." in html
    assert '<a class="btn btn-primary" href="/x/">Bill</a>' in html
