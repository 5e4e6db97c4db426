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


def hosted_form_context(*, organization, customer=None, return_url: str) -> dict[str, Any]:
    """The hosted card form of ``organization``'s card gateway (see the module docstring).
    ``customer`` may be None (not created yet). Keys: ``template``, ``gateway``, ``csp``,
    ``return_url``, plus the gateway's own (``error`` is set when the form cannot be shown)."""
    gateway = organization_card_gateway(organization=organization)
    if gateway == GatewayName.STRIPE:
        return _stripe_context(organization=organization, customer=customer, return_url=return_url)
    if gateway == GatewayName.MERCADOPAGO:
        # MercadoPago's card form (its JS SDK from sdk.mercadopago.com) is not wired yet:
        # say so rather than save a sandbox card for an organization that charges elsewhere.
        return {
            "template": "payments/hosted/unavailable.html",
            "gateway": gateway,
            "return_url": return_url,
            "csp": {},
            "error": "mercadopago card form not available",
        }
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
