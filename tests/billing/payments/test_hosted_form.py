"""The gateway-hosted card form: the sandbox's browser field (tokens only), Stripe.js with a
SetupIntent (ids only; CSP opened for js.stripe.com on that page only), in the portal and on
the staff page of a customer's payment methods."""

from __future__ import annotations

import json
import re

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from billing.gateways.sandbox import TEST_CARDS, sandbox_tokenize
from billing.payments.hosted import (
    STRIPE_CSP,
    hosted_form_context,
    organization_card_gateway,
    sandbox_card_tokens,
)
from billing.payments.models import GatewayAccount, GatewayCustomer, PaymentMethod
from billing.payments.services.methods import payment_method_add_card
from customers.portal.session import SESSION_KEY
from tests.billing.payments.conftest import stripe_browser_confirms_setup
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Ana Pérez", email="ana@acme.test")


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


# --- the sandbox form ---------------------------------------------------------------------------


def test_browser_tokens_are_exactly_what_the_sandbox_gateway_accepts():
    tokens = sandbox_card_tokens()
    assert set(tokens) == {card.number for card in TEST_CARDS}
    for number, token in tokens.items():
        assert token == sandbox_tokenize(number)


def test_sandbox_is_the_card_gateway_by_default_and_its_form_posts_token_and_gateway(org):
    assert organization_card_gateway(organization=org) == "sandbox"
    hosted = hosted_form_context(organization=org, customer=None, return_url="http://x/")
    assert hosted["gateway"] == "sandbox" and hosted["csp"] == {}
    html = render_to_string(hosted["template"], {"hosted": hosted})
    named = set(re.findall(r'name="([^"]+)"', html))
    assert named == {"token", "gateway"}  # the number field has no name: never submitted
    assert 'value="sandbox"' in html
    assert "payments/sandbox_card.js" in html
    embedded = re.search(r'id="sandbox-card-tokens"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert json.loads(embedded)["4242424242424242"] == "tok_sandbox_success"
    assert "<form" not in html  # it goes inside the page's own form


def test_the_packaged_script_is_served_by_our_static_files():
    from django.contrib.staticfiles import finders

    script = finders.find("payments/sandbox_card.js")
    assert script is not None
    with open(script, encoding="utf-8") as f:
        source = f.read()
    assert "sandbox-card-tokens" in source and "preventDefault" in source


def test_portal_add_card_page_renders_the_sandbox_form_with_a_strict_csp(org, customer):
    response = portal_client(customer).get(portal_url(org, "payment_method_add"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="token"' in body and 'name="gateway"' in body and "<form" in body
    assert "Card number" in body and "4242424242424242" in body
    assert "js.stripe.com" not in body and "js.stripe.com" not in csp(response)


def test_portal_saves_the_token_and_returns_to_next(org, customer):
    client = portal_client(customer)
    next_url = portal_url(org, "invoices")
    response = client.post(
        portal_url(org, "payment_method_add"),
        {"token": "tok_sandbox_success_mastercard", "gateway": "sandbox", "next": next_url},
    )
    assert response.status_code == 302 and response["Location"] == next_url
    method = PaymentMethod.unscoped.get(customer=customer)
    assert (method.type, method.brand, method.last4, method.is_default) == (
        "card",
        "mastercard",
        "4444",
        True,
    )


@pytest.mark.parametrize(
    ("token", "gateway"),
    [
        ("", "sandbox"),  # no JavaScript: nothing tokenized
        ("4242424242424242", "sandbox"),  # a raw number is not a token
        ("tok_sandbox_nonsense", "sandbox"),
        ("tok_sandbox_success", "stripe"),  # not this organization's card gateway
    ],
)
def test_portal_refuses_what_is_not_a_token_of_its_gateway(org, customer, token, gateway):
    client = portal_client(customer)
    response = client.post(
        portal_url(org, "payment_method_add"), {"token": token, "gateway": gateway}, follow=True
    )
    assert response.status_code == 200
    assert "The card could not be saved" in response.content.decode()
    assert not PaymentMethod.unscoped.filter(customer=customer).exists()


def test_checkout_style_use_without_a_customer_then_saving_for_the_new_one(org):
    hosted = hosted_form_context(organization=org, customer=None, return_url="http://x/")
    customer = CustomerFactory(organization=org)
    token = hosted["tokens"]["4242424242424242"]  # what the browser posts
    method = payment_method_add_card(customer=customer, gateway=hosted["gateway"], token=token)
    assert method.last4 == "4242" and method.is_default


# --- staff: a customer's payment methods ------------------------------------------------------


def staff_client(org, role: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = UserFactory(email=f"{role}@acme.test")
    MembershipFactory(organization=org, user=user, role=role)
    client.force_login(user)
    return client


def test_staff_add_a_card_for_a_customer(org, customer):
    client = staff_client(org, "admin")
    url = reverse("payments:customer_methods", kwargs={"pk": customer.pk})
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="token"' in page.content.decode()
    response = client.post(
        url, {"token": "tok_sandbox_success", "gateway": "sandbox", "make_default": "on"}
    )
    assert response.status_code == 302
    body = client.get(url).content.decode()
    assert "Visa •••• 4242" in body and "Default" in body


def test_a_viewer_sees_the_methods_but_cannot_add_one(org, customer):
    payment_method_add_card(customer=customer, gateway="sandbox", token="tok_sandbox_success")
    client = staff_client(org, "viewer")
    url = reverse("payments:customer_methods", kwargs={"pk": customer.pk})
    body = client.get(url).content.decode()
    assert "4242" in body and 'name="token"' not in body
    response = client.post(url, {"token": "tok_sandbox_success_mastercard", "gateway": "sandbox"})
    assert response.status_code == 403
    assert PaymentMethod.unscoped.filter(customer=customer).count() == 1


# --- Stripe: Stripe.js + SetupIntent; the server sees only ids ----------------------------------


@pytest.fixture
def stripe_default(stripe_org):
    GatewayAccount.unscoped.filter(organization=stripe_org, gateway="stripe").update(
        is_default=True
    )
    return stripe_org


def test_stripe_form_creates_a_setup_intent_for_the_customer(stripe_default, customer):
    hosted = hosted_form_context(organization=stripe_default, customer=customer, return_url="/")
    assert hosted["gateway"] == "stripe" and not hosted["error"]
    assert hosted["setup_intent_id"].startswith("seti_")
    assert hosted["client_secret"].startswith(hosted["setup_intent_id"])
    assert hosted["publishable_key"] == "pk_test_x"
    assert GatewayCustomer.unscoped.get(customer=customer).reference.startswith("cus_")
    html = render_to_string(hosted["template"], {"hosted": hosted})
    assert set(re.findall(r'name="([^"]+)"', html)) == {"token", "gateway"}
    assert "https://js.stripe.com/v3/" in html and hosted["client_secret"] in html


def test_confirmed_setup_intent_saves_brand_last4_and_expiry(
    stripe_default, customer, localstripe_url
):
    hosted = hosted_form_context(organization=stripe_default, customer=customer, return_url="/")

    class Start:  # what the page hands Stripe.js
        setup_intent_id = hosted["setup_intent_id"]
        client_secret = hosted["client_secret"]

    seti = stripe_browser_confirms_setup(localstripe_url, Start, "4242424242424242")
    response = portal_client(customer).post(
        portal_url(stripe_default, "payment_method_add"), {"token": seti, "gateway": "stripe"}
    )
    assert response.status_code == 302
    method = PaymentMethod.unscoped.get(customer=customer)
    assert (method.gateway, method.type, method.brand, method.last4) == (
        "stripe",
        "card",
        "visa",
        "4242",
    )
    assert (method.exp_month, method.exp_year) == (12, 2030)
    assert method.gateway_token.startswith("pm_")


def test_stripe_setup_without_a_customer_is_attached_to_the_one_created_later(
    stripe_default, localstripe_url
):
    hosted = hosted_form_context(organization=stripe_default, customer=None, return_url="/")

    class Start:
        setup_intent_id = hosted["setup_intent_id"]
        client_secret = hosted["client_secret"]

    seti = stripe_browser_confirms_setup(localstripe_url, Start, "4000000000000341")
    customer = CustomerFactory(organization=stripe_default)
    method = payment_method_add_card(customer=customer, gateway="stripe", token=seti)
    assert (method.brand, method.last4) == ("visa", "0341")
    assert method.gateway_customer_id == GatewayCustomer.unscoped.get(customer=customer).reference


def test_stripe_js_is_allowed_only_on_the_card_page_of_a_stripe_organization(
    stripe_default, customer
):
    client = portal_client(customer)
    page = client.get(portal_url(stripe_default, "payment_method_add"))
    policy = csp(page)
    assert page.status_code == 200
    for directive, sources in STRIPE_CSP.items():
        for source in sources:
            assert re.search(rf"{directive} [^;]*{re.escape(source)}", policy), directive
    assert "data-stripe-card" in page.content.decode()
    other = client.get(portal_url(stripe_default, "payment_methods"))
    assert "stripe.com" not in csp(other)


def test_stripe_account_without_publishable_key_shows_an_error_and_opens_nothing(
    stripe_default, customer
):
    account = GatewayAccount.unscoped.get(organization=stripe_default, gateway="stripe")
    account.credentials = json.dumps({"secret_key": "sk_test_cobro_localstripe"})
    account.save()
    page = portal_client(customer).get(portal_url(stripe_default, "payment_method_add"))
    assert "could not be loaded" in page.content.decode()
    assert "stripe.com" not in csp(page)
