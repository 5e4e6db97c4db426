"""The public checkout's card step through Mercado Pago: the same hosted form as the portal
(MercadoPago.js with the organization's public key, CSP opened on that page only); the card
token made in the browser subscribes, saves the card on the new Mercado Pago customer and pays
the first invoice, against the local Mercado Pago fake."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from billing.models import Subscription
from billing.payments.hosted import MERCADOPAGO_SDK_URL
from billing.payments.models import GatewayAccount, PaymentMethod
from checkout.models import CheckoutSession
from tests.billing.payments.mercadopago_fake import PUBLIC_KEY, MercadoPagoFake
from tests.checkout.conftest import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def mp(org, settings):
    with MercadoPagoFake() as fake:
        settings.MERCADOPAGO_API_BASE = fake.url
        GatewayAccount.unscoped.create(
            organization=org,
            gateway="mercadopago",
            credentials=json.dumps({"access_token": "TEST-123-abc", "public_key": PUBLIC_KEY}),
            is_default=True,
        )
        yield fake


def test_checkout_card_step_uses_mercadopago_and_subscribes_with_its_token(
    client, org, monthly, mp
):
    url = reverse("public:buy", kwargs={"org_slug": org.slug, "price_id": monthly.pk})
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "data-mercadopago-card" in html and MERCADOPAGO_SDK_URL in html
    assert "https://sdk.mercadopago.com" in page.headers["Content-Security-Policy"]
    checkout_token = re.search(r'name="checkout_token" value="([^"]+)"', html).group(1)

    card_token = mp.browser_card_token("4509953566233704", holder="APRO", month=3, year=2030)
    response = client.post(url, form_data(checkout_token, token=card_token, gateway="mercadopago"))
    assert response.status_code == 302
    session = CheckoutSession.unscoped.get(token=checkout_token)
    assert session.status == "completed"
    subscription = Subscription.unscoped.get(organization=org)
    assert subscription.status == "active"
    method = PaymentMethod.unscoped.get(customer=subscription.customer)
    assert (method.gateway, method.brand, method.last4, method.exp_month, method.exp_year) == (
        "mercadopago",
        "visa",
        "3704",
        3,
        2030,
    )
    (payment,) = mp.payments.values()
    assert payment["status"] == "approved" and payment["transaction_amount"] == 11_900
    assert payment["payer"] == {"type": "customer", "id": method.gateway_customer_id}
