"""Card forms hosted by the gateway: the card number is typed into the gateway's own field
and turned into a token in the browser, so it never reaches our server.

``hosted_form_context(organization=, customer=, return_url=)`` describes the form of the
organization's card gateway for a page to include INSIDE its own ``<form method="post">``:

- ``template``: include it inside the form (``{% include hosted.template with hosted=hosted %}``);
  on submit it posts hidden inputs ``token`` and ``gateway`` (and never the number);
- ``gateway``: the gateway key to pass on to ``payment_method_add_card(gateway=...)``;
- ``csp``: extra Content-Security-Policy sources the page needs (empty for the sandbox);
  apply them with ``hosted_csp_apply(response, hosted)`` on that page only.

The page's POST handler then calls
``billing.payments.services.methods.payment_method_add_card(customer=, gateway=, token=)``.

Sandbox (the embedded default): ``payments/sandbox_card.js`` (same origin) maps the sandbox
test-card numbers to ``tok_sandbox_<behaviour>`` exactly as ``sandbox_tokenize`` does and
refuses any other number in the browser. Stripe: Stripe.js confirms a SetupIntent created
here and the form posts the SetupIntent id (``seti_...``); Stripe.js can only be loaded from
js.stripe.com, so the page's CSP allows that origin only when the organization's card gateway
is a configured Stripe account. ``customer=None`` (checkout, the customer does not exist yet)
creates a SetupIntent without a customer; ``payment_method_add_card`` attaches the method
to the customer it creates later.

Mercado Pago: MercadoPago.js v2 (``sdk.mercadopago.com/js/v2``) mounts its Secure Fields (card
number, expiry, security code, each in Mercado Pago's own iframe) with the organization's
PUBLIC key and creates a card token in the browser (``mp.fields.createCardToken``); the form
posts only that token, and ``payment_method_add_card`` saves it on the Mercado Pago customer
(``POST /v1/customers/{id}/cards``). Nothing is called at Mercado Pago to render the page
(the customer is created when the card is saved), and the page's CSP opens Mercado Pago's
hosts only when the organization's card gateway is Mercado Pago with a public key.
"""

from __future__ import annotations

from typing import Any

from billing.gateways.base import GatewayError
from billing.gateways.sandbox import TEST_CARDS
from billing.payments.models import GatewayAccount, GatewayName

CARD_GATEWAYS = (GatewayName.SANDBOX, GatewayName.STRIPE, GatewayName.MERCADOPAGO)

#: Origins Stripe.js needs (https://docs.stripe.com/security/guide#content-security-policy).
STRIPE_CSP: dict[str, list[str]] = {
    "script-src": ["https://js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
}


#: MercadoPago.js v2, the only URL the card page loads Mercado Pago's code from.
MERCADOPAGO_SDK_URL = "https://sdk.mercadopago.com/js/v2"

#: Origins MercadoPago.js v2 and its Secure Fields reach. Mercado Pago publishes no CSP list;
#: these are the hosts public integrations report the SDK contacting: its own host, its static
#: CDN (http2.mlstatic.com), the Secure Fields iframes (secure-fields / api-static), the
#: card-token and metadata API (api.mercadopago.com, api.mercadolibre.com), its device
#: fingerprint (www.mercadopago.com script, www.mercadolibre.com frame) and usage metrics
#: (events.mercadopago.com). Check them in a browser with a real public key before going live.
MERCADOPAGO_CSP: dict[str, list[str]] = {
    "script-src": [
        "https://sdk.mercadopago.com",
        "https://http2.mlstatic.com",
        "https://www.mercadopago.com",
    ],
    "frame-src": [
        "https://secure-fields.mercadopago.com",
        "https://api-static.mercadopago.com",
        "https://www.mercadolibre.com",
    ],
    "connect-src": [
        "https://api.mercadopago.com",
        "https://api.mercadolibre.com",
        "https://secure-fields.mercadopago.com",
        "https://api-static.mercadopago.com",
        "https://http2.mlstatic.com",
        "https://events.mercadopago.com",
    ],
    "img-src": ["https://http2.mlstatic.com"],
}

#: Locales MercadoPago.js accepts (its ``locale`` option); ours map onto them by country.
MERCADOPAGO_LOCALES = frozenset(
    {"es-AR", "es-CL", "es-CO", "es-MX", "es-VE", "es-UY", "es-PE", "pt-BR", "en-US"}
)


def organization_card_gateway(*, organization) -> str:
    """The gateway that saves and charges cards for ``organization``: its enabled default
    gateway account, else the built-in sandbox."""
    account = (
        GatewayAccount.unscoped.filter(
            organization=organization, enabled=True, is_default=True, gateway__in=CARD_GATEWAYS
        )
        .values_list("gateway", flat=True)
        .first()
    )
    return account or GatewayName.SANDBOX


def sandbox_card_tokens() -> dict[str, str]:
    """Test-card number -> token, what the sandbox's browser field knows (``sandbox_tokenize``)."""
    return {card.number: f"tok_sandbox_{card.behaviour}" for card in TEST_CARDS}


def _sandbox_context(return_url: str) -> dict[str, Any]:
    return {
        "template": "payments/hosted/sandbox_fields.html",
        "gateway": GatewayName.SANDBOX.value,
        "return_url": return_url,
        "csp": {},
        "tokens": sandbox_card_tokens(),
        "test_cards": [
            {"number": c.number, "behaviour": c.behaviour, "brand": c.brand}
            for c in TEST_CARDS
            if c.behaviour in ("success", "success_mastercard", "generic_decline")
        ],
    }


def _stripe_context(*, organization, customer, return_url: str) -> dict[str, Any]:
    from billing.gateways import gateway_for
    from billing.gateways.ratelimit import call_limited
    from billing.payments.services.methods import gateway_customer_ref

    context: dict[str, Any] = {
        "template": "payments/hosted/stripe_fields.html",
        "gateway": GatewayName.STRIPE.value,
        "return_url": return_url,
        "csp": STRIPE_CSP,
        "error": "",
    }
    try:
        adapter = gateway_for("stripe", organization=organization)
        customer_ref = gateway_customer_ref(customer=customer, gateway="stripe") if customer else ""
        start = call_limited(
            adapter,
            lambda: adapter.setup_intent_create(customer_ref=customer_ref),  # type: ignore[attr-defined]
        )
    except GatewayError as exc:
        context.update(error=str(exc), csp={})
        return context
    if not start.publishable_key:
        context.update(error="stripe publishable key is not configured", csp={})
        return context
    context.update(
        setup_intent_id=start.setup_intent_id,
        client_secret=start.client_secret,
        publishable_key=start.publishable_key,
    )
    return context


def mercadopago_locale(*, language: str, country: str) -> str:
    """MercadoPago.js's locale for a page in ``language`` of an organization in ``country``:
    English pages get en-US; Spanish ones the organization's country (es-CL by default)."""
    if (language or "").lower().startswith("en"):
        return "en-US"
    if (country or "").upper() == "BR":
        return "pt-BR"
    candidate = f"es-{(country or '').upper()}"
    return candidate if candidate in MERCADOPAGO_LOCALES else "es-CL"


def _mercadopago_context(*, organization, return_url: str) -> dict[str, Any]:
    from django.utils.translation import get_language

    from billing.payments.services.accounts import gateway_account_credentials

    account = GatewayAccount.unscoped.filter(
        organization=organization, gateway=GatewayName.MERCADOPAGO
    ).first()
    public_key = gateway_account_credentials(account).get("public_key", "").strip()
    context: dict[str, Any] = {
        "template": "payments/hosted/mercadopago_fields.html",
        "gateway": GatewayName.MERCADOPAGO.value,
        "return_url": return_url,
        "csp": MERCADOPAGO_CSP,
        "error": "",
        "public_key": public_key,
        "sdk_url": MERCADOPAGO_SDK_URL,
        "locale": mercadopago_locale(
            language=get_language() or "", country=getattr(organization, "country", "")
        ),
    }
    if not public_key:
        # Without the public key MercadoPago.js cannot tokenize: open nothing, say so.
        context.update(error="mercadopago public key is not configured", csp={})
    return context


def hosted_form_context(*, organization, customer=None, return_url: str) -> dict[str, Any]:
    """The hosted card form of ``organization``'s card gateway (see the module docstring).
    ``customer`` may be None (not created yet). Keys: ``template``, ``gateway``, ``csp``,
    ``return_url``, plus the gateway's own (``error`` is set when the form cannot be shown)."""
    gateway = organization_card_gateway(organization=organization)
    if gateway == GatewayName.STRIPE:
        return _stripe_context(organization=organization, customer=customer, return_url=return_url)
    if gateway == GatewayName.MERCADOPAGO:
        return _mercadopago_context(organization=organization, return_url=return_url)
    return _sandbox_context(return_url)


def hosted_csp_apply(response, hosted: dict[str, Any] | None):
    """Allow the hosted form's third-party origins on THIS response only (django-csp)."""
    extra = (hosted or {}).get("csp") or {}
    if extra:
        current = dict(getattr(response, "_csp_update", None) or {})
        for directive, sources in extra.items():
            current[directive] = [*current.get(directive, []), *sources]
        response._csp_update = current
    return response
