"""Staff sign-up (allauth + organization), tax ids, passwords, MFA requirement, rate limits."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

from cobro.models import Membership, Organization
from tests.factories import OrganizationFactory, UserFactory

User = get_user_model()
PASSWORD = "Tortuga-Azul-2718"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth keeps its rate-limit counters in the cache; start every test from zero.
    cache.clear()
    yield
    cache.clear()


def signup_data(**overrides):
    data = {
        "email": "ana@panaderia.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "display_name": "Panadería Ana",
        "legal_name": "Panadería Ana SpA",
        "slug": "panaderia-ana",
        "country": "CL",
        "tax_id": "760864285",
    }
    data.update(overrides)
    return data


def english_client() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    return client


@pytest.mark.django_db
def test_signup_creates_organization_with_owner_and_sends_verification():
    response = Client().post("/accounts/signup/", signup_data())

    assert response.status_code == 302
    user = User.objects.get(email="ana@panaderia.test")
    org = Organization.objects.get(slug="panaderia-ana")
    assert org.display_name == "Panadería Ana"
    assert org.legal_name == "Panadería Ana SpA"
    assert org.tax_id == "76.086.428-5"
    assert org.default_currency == "CLP"
    assert org.time_zone == "America/Santiago"
    assert Membership.objects.get(organization=org, user=user).role == "owner"
    # Verification is mandatory: the address is unverified and a confirmation mail went out.
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert "/accounts/confirm-email/" in mail.outbox[0].body


@pytest.mark.django_db
def test_signup_in_mexico_derives_currency_and_time_zone():
    Client().post(
        "/accounts/signup/",
        signup_data(country="MX", tax_id="GODE561231GR8", slug="tacos-mx"),
    )
    org = Organization.objects.get(slug="tacos-mx")
    assert (org.default_currency, org.time_zone, org.tax_id) == (
        "MXN",
        "America/Mexico_City",
        "GODE561231GR8",
    )


@pytest.mark.django_db
def test_signup_for_other_countries_accepts_free_text_tax_id():
    Client().post("/accounts/signup/", signup_data(country="CO", tax_id="900.123.456-7"))
    org = Organization.objects.get(slug="panaderia-ana")
    assert (org.default_currency, org.tax_id) == ("COP", "900.123.456-7")


def _assert_nothing_created():
    assert not User.objects.filter(email="ana@panaderia.test").exists()
    assert not Organization.objects.filter(slug="panaderia-ana").exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_signup_with_taken_slug_shows_error_and_creates_nothing():
    OrganizationFactory(slug="panaderia-ana")
    response = english_client().post("/accounts/signup/", signup_data())

    assert response.status_code == 200
    assert "is already taken" in response.content.decode()
    assert not User.objects.filter(email="ana@panaderia.test").exists()
    assert Organization.objects.filter(slug="panaderia-ana").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "tax_id", "name"),
    [("CL", "76.086.428-4", "RUT"), ("AR", "20-26756539-4", "CUIT"), ("MX", "XXXX", "RFC")],
)
def test_signup_with_invalid_tax_id_shows_error_and_creates_nothing(country, tax_id, name):
    response = english_client().post(
        "/accounts/signup/", signup_data(country=country, tax_id=tax_id)
    )

    assert response.status_code == 200
    assert f"This is not a valid {name}" in response.content.decode()
    _assert_nothing_created()


@pytest.mark.django_db
def test_invalid_rut_message_is_in_spanish_by_default():
    response = Client().post("/accounts/signup/", signup_data(tax_id="76.086.428-4"))
    assert "no es un RUT válido" in response.content.decode()
    _assert_nothing_created()


@pytest.mark.django_db
def test_signup_with_weak_password_shows_error_and_creates_nothing():
    response = english_client().post(
        "/accounts/signup/", signup_data(password1="12345678", password2="12345678")
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "This password is too short" in body or "too common" in body
    _assert_nothing_created()


@pytest.mark.django_db
def test_signup_with_existing_email_creates_no_second_organization():
    UserFactory(email="ana@panaderia.test")
    Client().post("/accounts/signup/", signup_data())
    assert not Organization.objects.filter(slug="panaderia-ana").exists()
    assert User.objects.filter(email="ana@panaderia.test").count() == 1


@pytest.mark.django_db
def test_unverified_user_cannot_log_in():
    Client().post("/accounts/signup/", signup_data())
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": "ana@panaderia.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_verified_user_logs_in_and_sees_dashboard(owner, org):
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": owner.email, "password": "correct-horse-battery-9"}
    )
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert org.display_name in home.content.decode()


@pytest.mark.django_db
def test_failed_logins_are_rate_limited(owner):
    client = english_client()
    for _ in range(5):
        client.post("/accounts/login/", {"login": owner.email, "password": "wrong-password-1"})
    response = client.post(
        "/accounts/login/", {"login": owner.email, "password": "correct-horse-battery-9"}
    )
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_require_mfa_sends_member_without_mfa_to_setup(org, owner_client):
    org.require_mfa = True
    org.save()

    response = owner_client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


@pytest.mark.django_db
def test_require_mfa_lets_member_with_totp_in(org, owner, owner_client):
    from allauth.mfa.models import Authenticator

    org.require_mfa = True
    org.save()
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})

    assert owner_client.get("/").status_code == 200


@pytest.mark.django_db
def test_require_mfa_applies_only_to_the_organization_that_asks(org, owner_client, other_org):
    other_org.require_mfa = True
    other_org.save()
    assert owner_client.get("/").status_code == 200


@pytest.mark.django_db
def test_password_reset_sends_email(owner):
    response = Client().post("/accounts/password/reset/", {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


@pytest.mark.django_db
def test_logout_ends_the_session(owner_client):
    owner_client.post("/accounts/logout/")
    assert owner_client.get("/").status_code == 302
