"""Registries of the tenant isolation harness (tests/test_tenant_isolation.py).

The harness walks every tenant model and every URL pattern. It FAILS for a tenant model
without a factory here and for a URL pattern with kwargs without a case here, so every new app
is covered as soon as it adds a model or a URL. To extend, either edit this file or, better,
add ``tests/<app>/isolation.py`` (``tests/billing/documents/isolation.py`` for the app
``billing.documents``); it is imported automatically::

    from tests.isolation import isolation_factory, make, marked, url_case

    @isolation_factory("billing.invoice")
    def _invoice(org):
        return InvoiceFactory(organization=org, number=marked(org, "F-1"))

    @url_case("billing:invoice_detail")
    def _invoice_detail(org):
        return {"pk": make("billing.invoice", org).pk}

    @url_case("portal:invoice_detail")          # portal cases include org_slug
    def _portal_invoice(org):
        return {"org_slug": org.slug, "pk": make("billing.invoice", org).pk}

Factories take an organization and return a saved instance of the model that belongs to it.
Put ``marked(org, ...)`` in a visible text field (name, number, description): for the other
organization it contains ``MARKER``, and the harness checks that no page of organization A
ever shows it. A URL case returns the URL kwargs that address *that organization's* object.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import models
from django.test import Client

from cobro.models import Invitation, Membership, Organization, OutboxEvent
from cobro.services.audit import audit_record

# Every object of the "other" organization carries this string in a visible field.
MARKER = "ZZ-OTHER-ORG-MARKER"

ModelFactory = Callable[[Organization], models.Model]
UrlCase = Callable[[Organization], dict[str, Any]]

# "app_label.modelname" (lower case, as Model._meta.label_lower) -> factory(org) -> instance
ISOLATION_FACTORIES: dict[str, ModelFactory] = {}
# "namespace:name" of a URL pattern with kwargs -> case(org) -> kwargs addressing org's object
URL_CASES: dict[str, UrlCase] = {}
# Hooks that sign a client into an organization's customer portal: hook(client, org). The
# customers app registers one with @portal_login when portal sign-in exists; until then the
# harness checks portal URLs with a staff session only.
PORTAL_LOGINS: list[Callable[[Client, Organization], None]] = []

# URL patterns with kwargs the harness does not request, and why. Keep this list short.
URL_ALLOWLIST: dict[str, str] = {
    # Django admin: superusers only, deliberately cross-tenant; A's owner is not staff.
    "admin:*": "Django admin (superusers only)",
    # allauth: addressed by one-time keys sent by email, not by tenant object ids.
    "account_confirm_email": "allauth email confirmation key",
    "account_reset_password_from_key": "allauth password reset key",
    # Invitations are addressed by a secret token; holding the token is the authorization.
    "dashboard:invitation_accept": "invitation token (the invitee's capability)",
}


def isolation_factory(label: str) -> Callable[[ModelFactory], ModelFactory]:
    def decorator(fn: ModelFactory) -> ModelFactory:
        ISOLATION_FACTORIES[label.lower()] = fn
        return fn

    return decorator


def url_case(name: str) -> Callable[[UrlCase], UrlCase]:
    def decorator(fn: UrlCase) -> UrlCase:
        URL_CASES[name] = fn
        return fn

    return decorator


def portal_login(fn: Callable[[Client, Organization], None]):
    PORTAL_LOGINS.append(fn)
    return fn


def make(label: str, org: Organization) -> models.Model:
    """An instance of ``label`` belonging to ``org``, made by its registered factory."""
    return ISOLATION_FACTORIES[label.lower()](org)


def marked(org: Organization, text: str) -> str:
    """``text`` prefixed with the organization's display name (the MARKER for the other org)."""
    return f"{org.display_name} {text}"


def is_allowlisted(name: str) -> bool:
    namespace = name.split(":", 1)[0] if ":" in name else ""
    return name in URL_ALLOWLIST or f"{namespace}:*" in URL_ALLOWLIST


def load_app_registries() -> None:
    """Import the ``isolation.py`` of every installed app's test package that has one:
    ``tests/<app module path>/isolation.py`` (``tests/billing/documents/isolation.py`` for
    ``billing.documents``) or ``tests/<app_label>/isolation.py``."""
    for config in apps.get_app_configs():
        for package in dict.fromkeys((config.name, config.label)):
            module = f"tests.{package}.isolation"
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if found:
                importlib.import_module(module)


# --- the kernel's own entries ------------------------------------------------------------------


@isolation_factory("cobro.outboxevent")
def _outbox_event(org: Organization) -> models.Model:
    return OutboxEvent.unscoped.create(
        organization=org,
        type="test.isolation",
        payload={"note": marked(org, "event")},
        created_at=_now(),
        next_attempt_at=_now(),
    )


@isolation_factory("cobro.auditentry")
def _audit_entry(org: Organization) -> models.Model:
    return audit_record(
        organization=org, actor=None, action="test.isolation", changes={"note": marked(org, "x")}
    )


@isolation_factory("customers.customer")
def _customer(org: Organization) -> models.Model:
    from customers.models import Customer

    n = Customer.unscoped.filter(organization=org).count() + 1
    return Customer.unscoped.create(
        organization=org,
        name=marked(org, f"Cliente {n}"),
        email=f"cliente{n}@{org.slug}.test",
        phone="+56 9 5555 0000",
    )


def _member(org: Organization) -> Membership:
    from tests.factories import MembershipFactory, UserFactory

    n = Membership.objects.filter(organization=org).count() + 1
    user = UserFactory(email=f"member{n}@{org.slug}.test", first_name=marked(org, "Member"))
    return MembershipFactory(organization=org, user=user, role="viewer")


def _invitation(org: Organization) -> Invitation:
    n = Invitation.objects.filter(organization=org).count() + 1
    return Invitation.objects.create(organization=org, email=f"invitee{n}@{org.slug}.test")


@url_case("dashboard:member_role")
def _member_role(org: Organization) -> dict[str, Any]:
    return {"pk": _member(org).pk}


@url_case("dashboard:member_remove")
def _member_remove(org: Organization) -> dict[str, Any]:
    return {"pk": _member(org).pk}


@url_case("dashboard:invitation_revoke")
def _invitation_revoke(org: Organization) -> dict[str, Any]:
    return {"pk": _invitation(org).pk}


@url_case("dashboard:api_key_revoke")
def _api_key_revoke(org: Organization) -> dict[str, Any]:
    from cobro.services.api_keys import api_key_create

    key, _raw = api_key_create(organization=org, name=marked(org, "Key"), scopes=["*"], actor=None)
    return {"pk": key.pk}


@url_case("customers:detail")
def _customer_detail(org: Organization) -> dict[str, Any]:
    return {"pk": make("customers.customer", org).pk}


@url_case("customers:update")
def _customer_update(org: Organization) -> dict[str, Any]:
    return {"pk": make("customers.customer", org).pk}


def _now():
    from cobro import clock

    return clock.now()


# --- billing staff pages (URL kwargs address the organization's own objects) -------------------


def _billing_case(url_name: str, label: str) -> None:
    url_case(url_name)(lambda org: {"pk": make(label, org).pk})


for _name, _label in (
    ("billing:product_detail", "billing.product"),
    ("billing:product_update", "billing.product"),
    ("billing:price_create", "billing.product"),
    ("billing:price_update", "billing.price"),
    ("billing:price_archive", "billing.price"),
    ("billing:tax_deactivate", "billing.taxrate"),
    ("billing:coupon_deactivate", "billing.coupon"),
    ("billing:subscription_detail", "billing.subscription"),
    ("billing:subscription_pause", "billing.subscription"),
    ("billing:subscription_resume", "billing.subscription"),
    ("billing:subscription_cancel", "billing.subscription"),
    ("billing:subscription_undo_cancel", "billing.subscription"),
    ("billing:subscription_change", "billing.subscription"),
    ("billing:subscription_preview_invoices", "billing.subscription"),
    ("billing:subscription_migrate", "billing.subscription"),
    ("billing:subscription_simulator", "billing.subscription"),
    ("billing:price_simulator", "billing.price"),
    ("billing:invoice_detail", "billing.invoice"),
    ("billing:invoice_finalize", "billing.invoice"),
    ("billing:invoice_void", "billing.invoice"),
    ("billing:invoice_uncollectible", "billing.invoice"),
    ("billing:invoice_mark_paid", "billing.invoice"),
    ("billing:credit_note_create", "billing.invoice"),
):
    _billing_case(_name, _label)


# --- the customer portal (customers.portal, app label "portal") --------------------------------


@isolation_factory("portal.logincode")
def _portal_login_code(org: Organization) -> models.Model:
    from customers.portal.services import _issue

    customer = make("customers.customer", org)
    login, _code, _token = _issue(customer=customer, ttl=_portal_ttl(), ip=None, by_staff=True)
    return login


@isolation_factory("portal.portalsettings")
def _portal_settings(org: Organization) -> models.Model:
    from customers.portal.models import PortalSettings

    settings, _ = PortalSettings.unscoped.get_or_create(
        organization=org, defaults={"retention_offer_text": marked(org, "Oferta")}
    )
    return settings


@isolation_factory("portal.cancellationfeedback")
def _portal_cancellation_feedback(org: Organization) -> models.Model:
    from customers.portal.services import cancellation_feedback_record

    sub = make("billing.subscription", org)
    return cancellation_feedback_record(
        customer=sub.customer,
        subscription=sub,
        reason="other",
        comment=marked(org, "Me voy"),
        at_period_end=True,
        retention_offer_shown=False,
    )


def _portal_ttl():
    from datetime import timedelta

    return timedelta(minutes=15)


@portal_login
def _portal_sign_in(client: Client, org: Organization) -> None:
    """Bind ``client`` to a customer of ``org`` in the portal (as a code sign-in does)."""
    from customers.models import Customer
    from customers.portal.session import SESSION_KEY

    customer, _ = Customer.unscoped.get_or_create(
        organization=org,
        email=f"portal@{org.slug}.test",
        defaults={"name": marked(org, "Portal customer")},
    )
    session = client.session
    session[SESSION_KEY] = {"org": org.pk, "customer": customer.pk}
    session.save()


def _portal_case(name: str, label: str) -> None:
    @url_case(f"portal:{name}")
    def _case(org: Organization) -> dict[str, Any]:
        return {"org_slug": org.slug, "pk": make(label, org).pk}


for _name, _label in (
    ("invoice_detail", "billing.invoice"),
    ("invoice_pdf", "billing.invoice"),
    ("invoice_pay", "billing.invoice"),
    ("payment_method_default", "payments.paymentmethod"),
    ("payment_method_remove", "payments.paymentmethod"),
    ("subscription_detail", "billing.subscription"),
    ("subscription_change", "billing.subscription"),
    ("subscription_pause", "billing.subscription"),
    ("subscription_resume", "billing.subscription"),
    ("subscription_cancel", "billing.subscription"),
    ("subscription_undo_cancel", "billing.subscription"),
    ("subscription_retention_offer", "billing.subscription"),
    ("staff_send_link", "customers.customer"),
):
    _portal_case(_name, _label)


# --- the REST API (cobro/api, customers/api, billing/api) and outgoing webhooks --------------


@isolation_factory("webhooks.webhookendpoint")
def _webhook_endpoint(org: Organization) -> models.Model:
    from cobro.webhooks.models import WebhookEndpoint

    return WebhookEndpoint.unscoped.create(
        organization=org,
        url=f"https://hooks.{org.slug}.test/cobro",
        description=marked(org, "ERP"),
        created_at=_now(),
        updated_at=_now(),
    )


@isolation_factory("webhooks.webhooksecret")
def _webhook_secret(org: Organization) -> models.Model:
    from cobro.webhooks.models import WebhookSecret

    endpoint = make("webhooks.webhookendpoint", org)
    return WebhookSecret.unscoped.create(
        organization=org, endpoint=endpoint, secret="whsec_c2VjcmV0", created_at=_now()
    )


@isolation_factory("webhooks.webhookdelivery")
def _webhook_delivery(org: Organization) -> models.Model:
    import uuid

    from cobro.webhooks.models import WebhookDelivery

    event_id = uuid.uuid4()
    return WebhookDelivery.unscoped.create(
        organization=org,
        endpoint=make("webhooks.webhookendpoint", org),
        event_id=event_id,
        event_type="test.isolation",
        webhook_id=f"msg_{event_id.hex}",
        payload={"note": marked(org, "payload")},
        last_response_body=marked(org, "body"),
        next_attempt_at=None,
        created_at=_now(),
    )


# Staff pages of webhook endpoints (settings hub): another organization's endpoint or
# delivery id is a 404, and nothing of it changes (replay, toggle, rotate, edit).
for _name in (
    "dashboard:webhook_endpoint_detail",
    "dashboard:webhook_endpoint_update",
    "dashboard:webhook_endpoint_toggle",
    "dashboard:webhook_endpoint_rotate",
):
    url_case(_name)(lambda org: {"pk": make("webhooks.webhookendpoint", org).pk})
url_case("dashboard:webhook_delivery_replay")(
    lambda org: {"pk": make("webhooks.webhookdelivery", org).pk}
)


@isolation_factory("webhooks.idempotencykey")
def _idempotency_key(org: Organization) -> models.Model:
    from cobro.webhooks.models import IdempotencyKey

    n = IdempotencyKey.unscoped.filter(organization=org).count() + 1
    return IdempotencyKey.unscoped.create(
        organization=org,
        key=f"key-{n}",
        request_hash="0" * 64,
        state=IdempotencyKey.State.COMPLETED,
        response_status=200,
        response_body=marked(org, "response").encode(),
        response_content_type="application/json",
        created_at=_now(),
        locked_at=_now(),
    )


_API_ROUTES = {
    "coupon": ("billing.coupon", ["detail", "deactivate"]),
    "credit_note": ("billing.creditnote", ["detail"]),
    "customer": ("customers.customer", ["detail"]),
    "event": ("cobro.outboxevent", ["detail"]),
    "invoice": (
        "billing.invoice",
        ["detail", "finalize", "void", "mark-uncollectible", "pay", "pdf"],
    ),
    "payment": ("payments.paymentattempt", ["detail", "refund"]),
    "payment_method": ("payments.paymentmethod", ["detail", "set-default"]),
    "price": ("billing.price", ["detail", "archive"]),
    "product": ("billing.product", ["detail"]),
    "refund": ("payments.refund", ["detail"]),
    "subscription": (
        "billing.subscription",
        ["detail", "pause", "resume", "cancel", "undo-cancel", "change", "preview-change"],
    ),
    "tax_rate": ("billing.taxrate", ["detail", "deactivate"]),
    "webhook_delivery": ("webhooks.webhookdelivery", ["detail", "replay"]),
    "webhook_endpoint": ("webhooks.webhookendpoint", ["detail", "rotate-secret"]),
}


def _api_case(name: str, label: str) -> None:
    url_case(name)(lambda org: {"pk": make(label, org).pk})


for _basename, (_label, _actions) in _API_ROUTES.items():
    for _action in _actions:
        _api_case(f"api:{_basename}-{_action}", _label)
