"""Mercado Pago's hosted card form: MercadoPago.js v2 with the organization's public key makes a
card token in the browser; the page posts only that token, the server saves it on the Mercado
Pago customer (``POST /v1/customers/{id}/cards``) and keeps brand, last four and expiry. The
page's CSP opens Mercado Pago's hosts on the card page only. The browser's token request is
played against the local fake (``MercadoPagoFake.browser_card_token``), as MercadoPago.js
would make it."""

from __future__ import annotations

import json
import re

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from billing.payments.hosted import (
    MERCADOPAGO_CSP,
    MERCADOPAGO_SDK_URL,
    hosted_form_context,
    mercadopago_locale,
    organization_card_gateway,
)
from billing.payments.models import AttemptStatus, GatewayAccount, GatewayCustomer, PaymentMethod
from billing.payments.services.charging import invoice_pay_now
from billing.payments.services.methods import payment_method_add_card
from customers.portal.session import SESSION_KEY
from tests.billing.payments.conftest import open_invoice
from tests.billing.payments.mercadopago_fake import PUBLIC_KEY, MercadoPagoFake
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
ACCESS_TOKEN = "TEST-123-abc-secret"
NUMBER = "4509953566233704"  # Mercado Pago's Visa test card


@pytest.fixture
def mp(org, settings):
    """``org`` charging cards through Mercado Pago (its default card gateway), against the
    local fake."""
    with MercadoPagoFake() as fake:
        settings.MERCADOPAGO_API_BASE = fake.url
        GatewayAccount.unscoped.create(
            organization=org,
            gateway="mercadopago",
            credentials=json.dumps({"access_token": ACCESS_TOKEN, "public_key": PUBLIC_KEY}),
            webhook_secret="mp-webhook-secret",
            is_default=True,
        )
        yield fake


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Ana Rojas", email="ana@acme.test")


def portal_client(customer) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[SESSION_KEY] = {"org": customer.organization_id, "customer": customer.pk}
    session.save()
    return client


def portal_url(org, name: str) -> str:
    return reverse(f"portal:{name}", kwargs={"org_slug": org.slug})


def csp(response) -> str:
    return response.headers.get("Content-Security-Policy", "")


def test_the_form_loads_mercadopago_js_with_the_public_key_and_posts_only_token_and_gateway(
    org, mp, customer
):
    assert organization_card_gateway(organization=org) == "mercadopago"
    hosted = hosted_form_context(organization=org, customer=customer, return_url="/")
    assert (hosted["gateway"], hosted["error"]) == ("mercadopago", "")
    assert hosted["csp"] == MERCADOPAGO_CSP
    html = render_to_string(hosted["template"], {"hosted": hosted})
    assert set(re.findall(r'name="([^"]+)"', html)) == {"token", "gateway"}
    assert f'<script src="{MERCADOPAGO_SDK_URL}"></script>' in html
    assert f'data-public-key="{PUBLIC_KEY}"' in html
    assert ACCESS_TOKEN not in html  # the secret never reaches the page
    assert "payments/mercadopago_card.js" in html and "<form" not in html
    # Rendering the form asks Mercado Pago nothing (the customer is made when a card is saved).
    assert mp.requests == [] and not GatewayCustomer.unscoped.exists()


def test_the_portal_opens_mercadopago_hosts_on_the_card_page_only(org, mp, customer):
    client = portal_client(customer)
    page = client.get(portal_url(org, "payment_method_add"))
    assert page.status_code == 200
    assert "data-mercadopago-card" in page.content.decode()
    assert "Adding a card online is not available yet" not in page.content.decode()
    policy = csp(page)
    for directive, sources in MERCADOPAGO_CSP.items():
        for source in sources:
            assert re.search(rf"{directive} [^;]*{re.escape(source)}", policy), (directive, source)
    assert "stripe.com" not in policy
    other = client.get(portal_url(org, "payment_methods"))
    assert "mercadopago" not in csp(other) and "mlstatic" not in csp(other)


def test_a_browser_token_saves_the_card_with_brand_last4_and_expiry_never_the_number(
    org, mp, customer
):
    token = mp.browser_card_token(NUMBER, holder="APRO", month=6, year=2031)  # MercadoPago.js
    assert NUMBER not in token
    mp.bodies.clear()  # from here on: what OUR server sends Mercado Pago
    response = portal_client(customer).post(
        portal_url(org, "payment_method_add"), {"token": token, "gateway": "mercadopago"}
    )
    assert response.status_code == 302
    method = PaymentMethod.unscoped.get(customer=customer)
    assert (method.gateway, method.type, method.brand, method.last4) == (
        "mercadopago",
        "card",
        "visa",
        "3704",
    )
    assert (method.exp_month, method.exp_year, method.is_default) == (6, 2031, True)
    assert method.gateway_token in mp.cards  # the card id at Mercado Pago
    assert method.gateway_customer_id == GatewayCustomer.unscoped.get(customer=customer).reference
    assert mp.cards[method.gateway_token]["customer_id"] == method.gateway_customer_id
    sent = [(m, p.rstrip("/"), b) for m, p, b in mp.bodies]
    assert [(m, p) for m, p, _ in sent] == [
        ("POST", "/v1/customers"),
        ("POST", f"/v1/customers/{method.gateway_customer_id}/cards"),
    ]
    assert sent[1][2] == {"token": token}
    stored = json.dumps(
        list(PaymentMethod.unscoped.filter(customer=customer).values()) + [b for _m, _p, b in sent],
        default=str,
    )
    assert NUMBER not in stored and NUMBER[:12] not in stored


def test_a_card_token_is_used_once(org, mp, customer):
    token = mp.browser_card_token(NUMBER)
    client = portal_client(customer)
    url = portal_url(org, "payment_method_add")
    assert client.post(url, {"token": token, "gateway": "mercadopago"}).status_code == 302
    again = client.post(url, {"token": token, "gateway": "mercadopago"}, follow=True)
    assert "The card could not be saved" in again.content.decode()
    assert PaymentMethod.unscoped.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    ("token", "gateway"),
    [
        ("", "mercadopago"),  # no JavaScript: nothing tokenized
        (NUMBER, "mercadopago"),  # a raw number is not a token
        ("tok_sandbox_success", "sandbox"),  # not this organization's card gateway
    ],
)
def test_what_is_not_a_mercadopago_token_saves_nothing(org, mp, customer, token, gateway):
    response = portal_client(customer).post(
        portal_url(org, "payment_method_add"), {"token": token, "gateway": gateway}, follow=True
    )
    assert "The card could not be saved" in response.content.decode()
    assert not PaymentMethod.unscoped.filter(customer=customer).exists()


def test_staff_page_of_a_customer_uses_the_same_form(org, mp, customer):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = UserFactory(email="admin@acme.test")
    MembershipFactory(organization=org, user=user, role="admin")
    client.force_login(user)
    url = reverse("payments:customer_methods", kwargs={"pk": customer.pk})
    page = client.get(url)
    assert "data-mercadopago-card" in page.content.decode()
    assert "https://sdk.mercadopago.com" in csp(page)
    token = mp.browser_card_token("5031755734530604", month=12, year=2032)
    assert client.post(url, {"token": token, "gateway": "mercadopago"}).status_code == 302
    method = PaymentMethod.unscoped.get(customer=customer)
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
        "master",
        "0604",
        12,
        2032,
    )


def test_without_a_public_key_the_form_says_so_and_opens_nothing(org, mp, customer):
    account = GatewayAccount.unscoped.get(organization=org, gateway="mercadopago")
    account.credentials = json.dumps({"access_token": ACCESS_TOKEN})
    account.save()
    page = portal_client(customer).get(portal_url(org, "payment_method_add"))
    body = page.content.decode()
    assert "could not be loaded" in body and "sdk.mercadopago.com" not in body
    assert "mercadopago" not in csp(page)
    assert 'name="token"' not in body  # nothing to post


def owner_client(org) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = UserFactory(email="owner@acme.test")
    MembershipFactory(organization=org, user=user, role="owner")
    client.force_login(user)
    return client


def test_keys_are_entered_and_mercadopago_chosen_for_cards_on_the_settings_page(org):
    client = owner_client(org)
    url = reverse("payments:gateway_settings")
    page = client.get(url).content.decode()
    assert 'name="mercadopago-public_key"' in page and 'name="mercadopago-is_default"' in page
    assert organization_card_gateway(organization=org) == "sandbox"
    client.post(
        url,
        {
            "gateway": "mercadopago",
            "mercadopago-enabled": "on",
            "mercadopago-access_token": ACCESS_TOKEN,
            "mercadopago-public_key": "APP_USR-public-1",
            "mercadopago-is_default": "on",
        },
    )
    account = GatewayAccount.unscoped.get(organization=org, gateway="mercadopago")
    stored = json.loads(account.credentials)
    assert stored["public_key"] == "APP_USR-public-1" and stored["access_token"] == ACCESS_TOKEN
    assert organization_card_gateway(organization=org) == "mercadopago"
    page = client.get(url).content.decode()
    assert "APP_USR-public-1" in page and ACCESS_TOKEN not in page  # public shown, secret masked
    assert re.search(r'name="mercadopago-is_default"[^>]*checked', page)
    # Unticked (the secret left blank keeps it): cards go back to the built-in sandbox.
    client.post(
        url,
        {
            "gateway": "mercadopago",
            "mercadopago-enabled": "on",
            "mercadopago-public_key": "APP_USR-public-1",
        },
    )
    assert organization_card_gateway(organization=org) == "sandbox"
    assert json.loads(GatewayAccount.unscoped.get(pk=account.pk).credentials)["access_token"] == (
        ACCESS_TOKEN
    )


def test_cards_cannot_go_to_mercadopago_without_its_public_key(org):
    client = owner_client(org)
    url = reverse("payments:gateway_settings")
    response = client.post(
        url,
        {
            "gateway": "mercadopago",
            "mercadopago-enabled": "on",
            "mercadopago-access_token": ACCESS_TOKEN,
            "mercadopago-is_default": "on",
        },
    )
    assert response.status_code == 200
    assert "Required to take card payments through this gateway." in response.content.decode()
    assert not GatewayAccount.unscoped.filter(organization=org).exists()
    assert organization_card_gateway(organization=org) == "sandbox"


@pytest.mark.parametrize(
    ("language", "country", "locale"),
    [
        ("es-419", "CL", "es-CL"),
        ("es-419", "MX", "es-MX"),
        ("en", "CL", "en-US"),
        ("es-419", "BR", "pt-BR"),
        ("es-419", "US", "es-CL"),
    ],
)
def test_mercadopago_js_locale_follows_page_language_and_country(language, country, locale):
    assert mercadopago_locale(language=language, country=country) == locale


# --- charging the saved card off-session (Mercado Pago's "Automatic Payments") ---------------


def _saved_card_customer(org, mp, customer, number=NUMBER):
    token = mp.browser_card_token(number)
    payment_method_add_card(customer=customer, gateway="mercadopago", token=token)
    return PaymentMethod.unscoped.get(customer=customer)


def test_saved_card_is_charged_as_the_customer_with_its_payment_method_and_no_cvv(
    org, mp, customer
):
    method = _saved_card_customer(org, mp, customer)
    mp.bodies.clear()
    attempt = invoice_pay_now(invoice=open_invoice(customer, 15_990))
    assert attempt.status == AttemptStatus.SUCCEEDED
    sent = [(m, p.rstrip("/"), b) for m, p, b in mp.bodies]
    assert [(m, p) for m, p, _ in sent] == [
        ("GET", f"/v1/customers/{method.gateway_customer_id}/cards/{method.gateway_token}"),
        ("POST", "/v1/card_tokens"),
        ("POST", "/v1/payments"),
    ]
    assert sent[1][2] == {
        "card_id": method.gateway_token,
        "customer_id": method.gateway_customer_id,
    }
    payment = sent[2][2]
    assert payment["payer"] == {"type": "customer", "id": method.gateway_customer_id}
    assert (payment["payment_method_id"], payment["installments"]) == ("visa", 1)
    assert payment["transaction_amount"] == 15_990
    assert payment["external_reference"] == attempt.idempotency_key


def test_an_application_not_enabled_for_automatic_payments_is_a_gateway_error_not_a_decline(
    org, mp, customer
):
    _saved_card_customer(org, mp, customer)
    mp.automatic_payments = False
    attempt = invoice_pay_now(invoice=open_invoice(customer, 9_990))
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.decline_code == "gateway_error" and not attempt.hard_decline
    assert "Automatic Payments" in attempt.decline_message
    assert mp.payments == {}
