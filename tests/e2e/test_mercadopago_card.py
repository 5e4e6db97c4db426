"""Adding a card in the portal of an organization that charges through Mercado Pago, in a real
browser and offline: the MercadoPago.js URL (https://sdk.mercadopago.com/js/v2) is answered by
Playwright with a small fake of the API surface our page uses (``new MercadoPago(publicKey)``,
``fields.create().mount()/on()/update()``, ``getIdentificationTypes``, ``getPaymentMethods``,
``fields.createCardToken``), whose token request to api.mercadopago.com Playwright hands to
the local Mercado Pago fake. Every other outside request is aborted and recorded.

What this proves: the page loads the SDK from Mercado Pago's URL and its CSP lets it run and
reach api.mercadopago.com; the card inputs have no ``name``; the form posts only a token, never
the number; the server saves the card (brand, last four, expiry) on the Mercado Pago customer.
What it cannot prove: the real SDK's iframes and the hosts it contacts (the fake mounts plain
inputs in our page, where the real Secure Fields live in Mercado Pago's own iframes)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.cache import cache

from billing.payments.hosted import MERCADOPAGO_SDK_URL
from billing.payments.models import GatewayAccount, PaymentMethod
from tests.billing.payments.mercadopago_fake import PUBLIC_KEY, MercadoPagoFake
from tests.customers.factories import CustomerFactory
from tests.e2e.test_accessibility import AXE, _audit
from tests.e2e.test_portal_add_card import _sign_in

NUMBER = "4509953566233704"

#: The part of MercadoPago.js v2 our page uses (see the file's header).
FAKE_MERCADOPAGO_JS = (Path(__file__).parent / "fake_mercadopago.js").read_text(encoding="utf-8")

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "content-type",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_mercadopago_card_form_posts_only_a_token(live_server, browser, screenshot, settings):
    from tests.factories import OrganizationFactory

    cache.clear()
    with MercadoPagoFake() as mp:
        settings.MERCADOPAGO_API_BASE = mp.url
        org = OrganizationFactory(slug="cafe-andino", display_name="Café Andino")
        GatewayAccount.unscoped.create(
            organization=org,
            gateway="mercadopago",
            credentials=json.dumps({"access_token": "TEST-123-abc", "public_key": PUBLIC_KEY}),
            is_default=True,
        )
        customer = CustomerFactory(organization=org, name="Lucía Soto", email="lucia@example.cl")

        context = browser.new_context(locale="es-419", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15_000)
        outside: list[str] = []
        sdk_loads: list[str] = []
        token_requests: list[dict] = []

        def abort_outside(route):
            outside.append(route.request.url)
            route.abort()

        def serve_sdk(route):
            sdk_loads.append(route.request.url)
            route.fulfill(
                status=200, content_type="application/javascript", body=FAKE_MERCADOPAGO_JS
            )

        def card_tokens(route):
            request = route.request
            if request.method == "OPTIONS":
                route.fulfill(status=204, headers=CORS)
                return
            token_requests.append(json.loads(request.post_data or "{}"))
            url = urlparse(request.url)
            forward = urllib.request.Request(  # noqa: S310 - the local fake
                f"{mp.url}{url.path}?{url.query}",
                data=request.post_data_buffer,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(forward) as answer:  # noqa: S310 - the local fake
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
            route.fulfill(status=status, body=body, content_type="application/json", headers=CORS)

        # The last route registered is tried first: anything outside our server is aborted.
        context.route(re.compile(r"^https?://(?!(localhost|127\.0\.0\.1)[:/])"), abort_outside)
        context.route(MERCADOPAGO_SDK_URL, serve_sdk)
        context.route(re.compile(r"^https://api\.mercadopago\.com/v1/card_tokens"), card_tokens)

        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        posted: list[tuple[str, str]] = []
        page.on(
            "request",
            lambda r: (
                posted.append((r.url, r.post_data or ""))
                if r.method == "POST" and r.url.startswith(live_server.url)
                else None
            ),
        )
        try:
            base = f"{live_server.url}/p/{org.slug}"
            _sign_in(page, base, "lucia@example.cl")
            response = page.goto(f"{base}/payment-methods/add/")
            policy = response.headers["content-security-policy"]
            assert "https://sdk.mercadopago.com" in policy
            page.locator("#mp-card-number input").wait_for()
            assert sdk_loads == [MERCADOPAGO_SDK_URL]
            instance = page.evaluate("window.__fakeMercadoPago")
            assert instance["instances"] == [{"publicKey": PUBLIC_KEY, "locale": "es-CL"}]
            assert instance["fields"] == ["cardNumber", "expirationDate", "securityCode"]
            # The document types came from MercadoPago.js: the select is shown.
            assert page.get_by_label("Tipo de documento").is_visible()
            # Only the hidden token and gateway (and the page's own csrf/next) have names.
            named = set(
                page.eval_on_selector_all(
                    "form[data-card-form] [name]", "els => els.map(e => e.name)"
                )
            )
            assert named == {"csrfmiddlewaretoken", "next", "gateway", "token"}
            screenshot(page, "01-mercadopago-form")
            if AXE.exists():  # the same audit as test_accessibility, on this form
                assert _audit(page, AXE.read_text(encoding="utf-8")) == []

            # No name on the card: refused in the browser, nothing reaches our server.
            page.get_by_role("button", name="Guardar tarjeta").click()
            assert page.get_by_text(
                "Ingresa el nombre tal como aparece en la tarjeta."
            ).is_visible()
            assert not [u for u, _ in posted if u.endswith("/payment-methods/add/")]

            page.locator("#mp-card-number input").fill(NUMBER)
            page.locator("#mp-expiration-date input").fill("06/31")
            page.locator("#mp-security-code input").fill("123")
            # Mercado Pago refuses to tokenize (the fake knows only its test holders): the
            # page says so and posts nothing.
            page.get_by_label("Nombre en la tarjeta").fill("NADIE")
            page.get_by_role("button", name="Guardar tarjeta").click()
            refused = page.get_by_text("No pudimos confirmar la tarjeta. Revisa los datos")
            refused.wait_for()
            screenshot(page, "02-mercadopago-refused")
            assert not [u for u, _ in posted if u.endswith("/payment-methods/add/")]

            page.get_by_label("Nombre en la tarjeta").fill("APRO")
            page.get_by_label("Tipo de documento").select_option("RUT")
            page.get_by_label("Número de documento").fill("11.111.111-1")
            screenshot(page, "03-mercadopago-filled")
            page.get_by_role("button", name="Guardar tarjeta").click()
            page.wait_for_url(f"{base}/payment-methods/")
            assert page.get_by_text(
                "Tarjeta terminada en 3704 guardada como predeterminada"
            ).is_visible()
            screenshot(page, "04-card-saved")
        finally:
            context.close()

        # Mercado Pago (the fake) got the card data from the browser; our server only a token.
        refused_request, token_request = token_requests
        assert refused_request["cardholder"]["name"] == "NADIE"
        assert token_request["card_number"] == NUMBER
        assert token_request["cardholder"]["identification"] == {
            "type": "RUT",
            "number": "11.111.111-1",
        }
        (card_post,) = [body for url, body in posted if url.endswith("/payment-methods/add/")]
        form = parse_qs(card_post)
        assert set(form) == {"csrfmiddlewaretoken", "next", "gateway", "token"}
        assert form["gateway"] == ["mercadopago"]
        assert re.fullmatch(r"[0-9a-f]{32}", form["token"][0])
        sent = json.dumps({k: v for k, v in form.items() if k != "csrfmiddlewaretoken"})
        assert NUMBER not in sent and NUMBER[:6] not in sent and NUMBER[-4:] not in sent
        method = PaymentMethod.unscoped.get(customer=customer)
        assert (method.gateway, method.brand, method.last4, method.exp_month, method.exp_year) == (
            "mercadopago",
            "visa",
            "3704",
            6,
            2031,
        )
        assert outside == []  # nothing left the machine
        assert not [m for m in console if "Content Security Policy" in m]
