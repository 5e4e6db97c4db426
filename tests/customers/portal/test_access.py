"""Every portal URL refuses another customer's and another organization's objects (404),
and a portal session of organization A never opens organization B's portal."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.payments.services.methods import payment_method_add_card
from billing.services.invoices import ManualItem, invoice_create_one_off
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from tests.billing.factories import PriceFactory
from tests.customers.factories import CustomerFactory
from tests.customers.portal.conftest import portal_client

pytestmark = pytest.mark.django_db


def _portal_routes() -> list[tuple[str, tuple[str, ...]]]:
    """(name, kwargs) of every pattern under the "portal" namespace."""
    found = []

    def walk(resolver, namespace="", kwargs=()):
        for p in resolver.url_patterns:
            names = tuple(p.pattern.regex.groupindex)
            if isinstance(p, URLResolver):
                ns = ":".join(x for x in (namespace, p.namespace) if x)
                walk(p, ns, kwargs + names)
            elif isinstance(p, URLPattern) and namespace == "portal" and p.name:
                found.append((f"portal:{p.name}", kwargs + names))

    walk(get_resolver())
    return found


def _objects(org, customer):
    """One object of each kind the portal addresses by id, belonging to ``customer``."""
    with use_organization(org):
        price = PriceFactory(organization=org, amount_minor=5_000)
        sub = subscription_create(customer=customer, price=price)
        invoice = invoice_create_one_off(
            customer=customer,
            currency="CLP",
            items=[ManualItem(description="Secreto de otro cliente", unit_amount_minor=7_000)],
        )
    method = payment_method_add_card(
        customer=customer, gateway="sandbox", token="tok_sandbox_success"
    )
    from feedback.services.surveys import survey_request
    from tests.loyalty.isolation import _reward
    from tests.support.isolation import portal_objects as support_portal_objects

    return {
        "feedback.surveyrequest": survey_request(customer=customer, kind="nps", source="manual"),
        "loyalty.reward": _reward(org),
        "billing.subscription": sub,
        "billing.invoice": invoice,
        "payments.paymentmethod": method,
        "customers.customer": customer,
        **support_portal_objects(org, customer),
    }


KIND_OF_ROUTE = {
    "invoice": "billing.invoice",
    "payment_method": "payments.paymentmethod",
    "subscription": "billing.subscription",
    "staff_send_link": "customers.customer",
    "loyalty_redeem": "loyalty.reward",
    "support_conversation": "support.conversation",
    "support_attachment": "support.attachment",
    "survey": "feedback.surveyrequest",
}


def _kind(name: str) -> str:
    local = name.split(":", 1)[1]
    for prefix, kind in KIND_OF_ROUTE.items():
        if local.startswith(prefix):
            return kind
    raise AssertionError(f"portal route {name} takes an id of an unknown kind: add it here")


def test_every_portal_url_refuses_other_customers_and_other_organizations(
    org, other_org, customer, other_customer
):
    theirs_same_org = _objects(org, other_customer)
    stranger = CustomerFactory(organization=other_org, email="zed@globex.test")
    theirs_other_org = _objects(other_org, stranger)
    client = portal_client(customer)
    routes = [(n, k) for n, k in _portal_routes() if set(k) - {"org_slug"}]
    assert {"portal:invoice_detail", "portal:subscription_cancel"} <= {n for n, _ in routes}
    for name, _kwargs in routes:
        kind = _kind(name)
        for owner_objects in (theirs_same_org, theirs_other_org):
            if kind == "loyalty.reward" and owner_objects is theirs_same_org:
                continue  # rewards belong to the organization: every customer of it may redeem
            url = reverse(name, kwargs={"org_slug": org.slug, "pk": owner_objects[kind].pk})
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                if name == "portal:staff_send_link":
                    # A staff-only hook: a portal customer is sent to the staff sign-in.
                    assert response.status_code == 405 or response["Location"].startswith(
                        reverse("account_login")
                    )
                    continue
                assert response.status_code in (404, 405), (
                    f"{method.upper()} {url} returned {response.status_code}"
                )
                assert "Secreto de otro cliente" not in response.content.decode()
    # Nothing of theirs changed.
    sub = theirs_same_org["billing.subscription"]
    sub.refresh_from_db()
    assert sub.status == "active" and not sub.cancel_at_period_end


def test_portal_session_of_a_never_opens_b(org, other_org, customer):
    client = portal_client(customer)
    for name, kwargs in _portal_routes():
        if set(kwargs) != {"org_slug"}:
            continue
        url = reverse(name, kwargs={"org_slug": other_org.slug})
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code in (403, 405), f"GET {url}: {response.status_code}"
        assert "Globex" not in body
    # The neutral page offers to sign out; then B's sign-in page is shown.
    response = client.get(reverse("portal:home", kwargs={"org_slug": other_org.slug}))
    assert "signed in to another portal" in response.content.decode()
    client.post(reverse("portal:logout", kwargs={"org_slug": other_org.slug}))
    response = client.get(reverse("portal:login", kwargs={"org_slug": other_org.slug}))
    assert response.status_code == 200 and "Globex" in response.content.decode()


def test_pages_need_a_portal_session(client, org):
    response = client.get(reverse("portal:invoices", kwargs={"org_slug": org.slug}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login", kwargs={"org_slug": org.slug}))


def test_unknown_organization_is_404(client, db):
    assert client.get("/p/no-such-org/login/").status_code == 404
