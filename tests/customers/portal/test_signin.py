"""Sign-in by emailed code or magic link: single use, short-lived, locked after a few wrong
codes, and no way to learn whether an email is a customer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from customers.portal.models import LoginCode
from customers.portal.session import SESSION_KEY

pytestmark = pytest.mark.django_db


def _login(org):
    return reverse("portal:login", kwargs={"org_slug": org.slug})


def _code_url(org):
    return reverse("portal:login_code", kwargs={"org_slug": org.slug})


def _home(org):
    return reverse("portal:home", kwargs={"org_slug": org.slug})


def _request_code(client, org, email):
    with_callbacks = client.post(_login(org), {"email": email})
    return with_callbacks


def _emailed_code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def _emailed_link(message) -> str:
    return re.search(r"(http\S+/login/link/\?token=\S+)", message.body).group(1)


def test_sign_in_with_the_emailed_code(client, org, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _request_code(client, org, "ANA@acme.test")
    assert response.status_code == 302 and response["Location"] == _code_url(org)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@acme.test"]
    assert "Acme SpA" in message.subject
    code = _emailed_code(message)
    assert code in message.subject  # the code is readable in the notification preview

    response = client.post(_code_url(org), {"code": code})
    assert response.status_code == 302 and response["Location"] == _home(org)
    page = client.get(_home(org))
    assert page.status_code == 200
    assert "Ana Pérez" in page.content.decode()
    # Nothing but hashes is stored.
    login = LoginCode.unscoped.get(customer=customer)
    assert code not in login.code_hash and login.used_at is not None


def test_magic_link_signs_in_once(client, org, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _request_code(client, org, "ana@acme.test")
    link = _emailed_link(mail.outbox[0])
    path, token = link.split("?token=")
    path = path.replace("http://127.0.0.1:8000", "")
    # GET only shows a button (mail scanners that prefetch links do not burn it).
    assert client.get(f"{path}?token={token}").status_code == 200
    assert SESSION_KEY not in client.session
    response = client.post(path, {"token": token})
    assert response["Location"] == _home(org)
    assert client.session[SESSION_KEY]["customer"] == customer.pk

    stranger = type(client)()
    response = stranger.post(path, {"token": token}, follow=True)
    assert SESSION_KEY not in stranger.session
    assert "already used" in response.content.decode()


def test_expired_code_is_refused(client, org, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _request_code(client, org, "ana@acme.test")
    code = _emailed_code(mail.outbox[0])
    with time_machine.travel(timedelta(minutes=16)):
        response = client.post(_code_url(org), {"code": code})
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_reused_code_is_refused(client, org, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _request_code(client, org, "ana@acme.test")
    code = _emailed_code(mail.outbox[0])
    assert client.post(_code_url(org), {"code": code}).status_code == 302
    client.post(reverse("portal:logout", kwargs={"org_slug": org.slug}))
    assert SESSION_KEY not in client.session

    with django_capture_on_commit_callbacks(execute=True):
        _request_code(client, org, "ana@acme.test")
    response = client.post(_code_url(org), {"code": code})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert SESSION_KEY not in client.session
    # The new code works.
    assert client.post(_code_url(org), {"code": _emailed_code(mail.outbox[1])}).status_code == 302


def test_brute_force_locks_the_code(client, org, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _request_code(client, org, "ana@acme.test")
    code = _emailed_code(mail.outbox[0])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(LoginCode.MAX_ATTEMPTS):
        response = client.post(_code_url(org), {"code": wrong})
        assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
    # Even the right code no longer works.
    response = client.post(_code_url(org), {"code": code})
    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert LoginCode.unscoped.get(customer=customer).attempts == LoginCode.MAX_ATTEMPTS


def test_unknown_email_gets_the_same_answer_and_no_email(
    client, org, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(_login(org), {"email": "ana@acme.test"})
    known_page = client.get(_code_url(org)).content.decode()
    mail.outbox.clear()

    stranger = type(client)()
    with django_capture_on_commit_callbacks(execute=True):
        unknown = stranger.post(_login(org), {"email": "nobody@acme.test"})
    unknown_page = stranger.get(_code_url(org)).content.decode()

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert mail.outbox == []
    normalize = lambda html: re.sub(r'csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"', "", html)  # noqa: E731
    assert normalize(known_page).replace("ana@acme.test", "X") == normalize(unknown_page).replace(
        "nobody@acme.test", "X"
    )
    # Unknown emails are locked out after the same number of wrong codes.
    for _ in range(LoginCode.MAX_ATTEMPTS):
        response = stranger.post(_code_url(org), {"code": "123456"})
    assert "Too many wrong codes" in response.content.decode()


def test_code_requests_are_rate_limited_per_email(client, org, customer):
    for _ in range(5):
        assert client.post(_login(org), {"email": "ana@acme.test"}).status_code == 302
    response = client.post(_login(org), {"email": "ana@acme.test"})
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()


def test_a_code_of_organization_a_does_not_open_organization_b(
    client, org, other_org, customer, django_capture_on_commit_callbacks
):
    from tests.customers.factories import CustomerFactory

    CustomerFactory(organization=other_org, email="ana@acme.test", name="Ana en Globex")
    with django_capture_on_commit_callbacks(execute=True):
        _request_code(client, org, "ana@acme.test")
    code = _emailed_code(mail.outbox[0])
    other = type(client)()
    other.post(_login(other_org), {"email": "ana@acme.test"})
    response = other.post(_code_url(other_org), {"code": code})
    assert response.status_code == 400
    assert SESSION_KEY not in other.session


def test_sign_out_ends_the_portal_session(client_a, org, customer):
    assert client_a.get(_home(org)).status_code == 200
    response = client_a.post(reverse("portal:logout", kwargs={"org_slug": org.slug}))
    assert response["Location"] == _login(org)
    response = client_a.get(_home(org))
    assert response.status_code == 302 and response["Location"].startswith(_login(org))
