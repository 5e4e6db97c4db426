"""Tenant isolation: organization A never reads or writes organization B's rows.

Walks every concrete ``TenantModel`` and every URL pattern of the project, so new apps are
covered automatically; the registries it needs (a factory per tenant model, a case per URL with
kwargs) live in tests/isolation.py and tests/<app>/isolation.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cobro.models import Organization, TenantManager, TenantModel
from cobro.services.api_keys import api_key_create
from cobro.tenancy.context import NoCurrentOrganization, use_organization
from tests import isolation
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

isolation.load_app_registries()

TENANT_MODELS = sorted(
    (
        m
        for m in apps.get_models()
        if issubclass(m, TenantModel) and not m._meta.abstract and not m._meta.proxy
    ),
    key=lambda m: m._meta.label_lower,
)


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route itself for an unnamed pattern
    route: str
    kwargs: tuple[str, ...]
    callback: Any
    named: bool = True

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_portal(self) -> bool:
        return self.name.startswith("portal:")

    def accepts(self, method: str) -> bool | None:
        """Whether the view handles ``method``; None when it cannot be told (function views)."""
        actions = getattr(self.callback, "actions", None)  # DRF viewsets
        if actions is not None:
            return method.lower() in actions
        view_class = getattr(self.callback, "view_class", None)
        if view_class is None:
            return None
        if method.lower() not in view_class.http_method_names:
            return False
        return hasattr(view_class, method.lower())


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "", kwargs=()):
    for p in resolver.url_patterns:
        names = tuple(p.pattern.regex.groupindex)
        if isinstance(p, URLResolver):
            ns = ":".join(x for x in (namespace, p.namespace) if x)
            yield from _walk(p, prefix + str(p.pattern), ns, kwargs + names)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            # Unnamed patterns are keyed by their route (inside their namespace).
            local = p.name or route
            name = f"{namespace}:{local}" if namespace else local
            yield Route(name, route, kwargs + names, p.callback, named=bool(p.name))


ROUTES = sorted({r.name: r for r in _walk(get_resolver())}.values(), key=lambda r: r.name)
WITH_KWARGS = [r for r in ROUTES if r.kwargs and not isolation.is_allowlisted(r.name)]
WITHOUT_KWARGS = [r for r in ROUTES if not r.kwargs]


# --- the two organizations ---------------------------------------------------------------------


def _installed(label: str) -> bool:
    """Registries may name models of apps that are not installed (yet); skip those."""
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


@dataclass
class World:
    a: Organization
    b: Organization
    owner: Any
    api_key: str  # a raw key of A with every scope


@pytest.fixture
def world(db) -> World:
    a = OrganizationFactory(slug="acme", display_name="Acme SpA")
    b = OrganizationFactory(
        slug="zz-other-org", display_name=isolation.MARKER, legal_name=isolation.MARKER
    )
    owner = UserFactory(email="owner@acme.test")
    MembershipFactory(organization=a, user=owner, role="owner")
    b_owner = UserFactory(email="owner@other.test", first_name=isolation.MARKER)
    MembershipFactory(organization=b, user=b_owner, role="owner")
    # Both organizations have a row of every tenant model (when a factory exists).
    for label, factory in isolation.ISOLATION_FACTORIES.items():
        if _installed(label):
            factory(a)
            factory(b)
    _, raw = api_key_create(organization=a, name="harness", scopes=["*"], actor=owner)
    return World(a=a, b=b, owner=owner, api_key=raw)


def _snapshot(org: Organization) -> dict[str, list[dict]]:
    """Every row that belongs to ``org``, in every table with an organization FK."""
    snap: dict[str, list[dict]] = {
        "cobro.organization": list(Organization.objects.filter(pk=org.pk).values())
    }
    for model in apps.get_models():
        field = next(
            (
                f
                for f in model._meta.concrete_fields
                if f.name == "organization"
                and isinstance(f, models.ForeignKey)
                and f.related_model is Organization
            ),
            None,
        )
        if field is None:
            continue
        rows = model._base_manager.filter(organization=org).order_by("pk").values()
        snap[model._meta.label_lower] = [
            {k: v for k, v in row.items() if k != "last_used_at"} for row in rows
        ]
    return snap


def _client_for(world: World, route: Route, *, portal_org: Organization | None = None) -> Client:
    client = Client(raise_request_exception=True)
    client.force_login(world.owner)
    if route.is_api:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.api_key}"
    if portal_org is not None:
        for login in isolation.PORTAL_LOGINS:
            login(client, portal_org)
    return client


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return ""
    return response.content.decode(errors="ignore")


# --- (a) every tenant model --------------------------------------------------------------------


def test_there_are_tenant_models_to_check():
    labels = {m._meta.label_lower for m in TENANT_MODELS}
    assert {"cobro.outboxevent", "cobro.auditentry", "customers.customer"} <= labels


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label_lower)
def test_tenant_model_has_a_non_null_indexed_organization(model):
    field = model._meta.get_field("organization")
    assert not field.null, f"{model._meta.label}.organization must be NOT NULL"
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    leading = [
        name
        for name, c in constraints.items()
        if c["columns"] and c["columns"][0] == field.column and (c["index"] or c["unique"])
    ]
    assert leading, f"{model._meta.db_table} has no index starting with {field.column}"
    assert isinstance(model._default_manager, TenantManager), (
        f"{model._meta.label}'s default manager must be the tenant-scoped TenantManager"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label_lower)
def test_tenant_model_is_isolated(model, world):
    label = model._meta.label_lower
    assert label in isolation.ISOLATION_FACTORIES, (
        f"No isolation factory for tenant model {label}: register one with "
        f"@isolation_factory({label!r}) in tests/{model._meta.app_label}/isolation.py"
    )
    mine = isolation.make(label, world.a)
    theirs = isolation.make(label, world.b)
    assert mine.organization_id == world.a.pk and theirs.organization_id == world.b.pk

    with pytest.raises(NoCurrentOrganization):
        list(model.objects.all())

    with use_organization(world.a):
        visible = set(model.objects.values_list("pk", flat=True))
        assert mine.pk in visible
        assert theirs.pk not in visible
        assert not model.objects.filter(pk=theirs.pk).exists()
        with pytest.raises(model.DoesNotExist):
            model.objects.get(pk=theirs.pk)
        assert model.objects.filter(pk=theirs.pk).update() == 0


# --- (b) every URL pattern ---------------------------------------------------------------------


def test_url_walk_finds_the_project_urls():
    names = {r.name for r in ROUTES}
    assert {"dashboard:home", "api:organization", "healthz"} <= names


def _url_case_kwargs(route: Route, org: Organization) -> dict[str, Any]:
    if route.name in isolation.URL_CASES:
        return isolation.URL_CASES[route.name](org)
    if route.is_portal and route.kwargs == ("org_slug",):
        return {"org_slug": org.slug}  # a portal page addressed by the organization only
    pytest.fail(
        f"No isolation URL case for {route.name!r} ({route.route}): register one with "
        f"@url_case({route.name!r}) in tests/<app>/isolation.py, returning the kwargs of the "
        "given organization's object (or allow-list it in tests/isolation.py with a reason)."
    )


def _check_refused(world: World, route: Route, url: str, client: Client, *, strict: bool):
    """GET (and POST where the view takes it) must be 404/403 and change nothing of B."""
    before = _snapshot(world.b)
    for method in ("get", "post"):
        accepts = route.accepts(method)
        response = getattr(client, method)(url)
        allowed = {403, 404}
        if accepts is not True:
            allowed.add(405)
        if not strict:
            allowed |= {301, 302, 303}  # a foreign portal session is sent to sign in
        assert response.status_code in allowed, (
            f"{method.upper()} {url} as organization A returned {response.status_code}; "
            f"expected one of {sorted(allowed)}"
        )
        assert isolation.MARKER not in _body(response), f"{method.upper()} {url} leaked B"
        if response.status_code in (301, 302, 303):
            assert isolation.MARKER not in response.get("Location", "")
    assert _snapshot(world.b) == before, f"requests to {url} changed organization B's data"


@pytest.mark.django_db
@pytest.mark.parametrize("route", WITH_KWARGS, ids=lambda r: r.name)
def test_url_with_kwargs_refuses_other_organizations_objects(route, world):
    assert route.named, f"URL pattern {route.route!r} takes kwargs: give it a name"
    kwargs = _url_case_kwargs(route, world.b)
    url = reverse(route.name, kwargs=kwargs)

    if not route.is_portal:
        _check_refused(world, route, url, _client_for(world, route), strict=True)
        return

    # Portal, B's address: A's portal session is a stranger there (sign-in redirect is fine).
    _check_refused(world, route, url, _client_for(world, route, portal_org=world.a), strict=False)
    # Portal, A's address with B's object ids: must be 404/403 once A's session is valid there.
    if set(kwargs) - {"org_slug"}:
        url_a = reverse(route.name, kwargs={**kwargs, "org_slug": world.a.slug})
        client = _client_for(world, route, portal_org=world.a)
        _check_refused(world, route, url_a, client, strict=bool(isolation.PORTAL_LOGINS))


@pytest.mark.django_db
@pytest.mark.parametrize("route", WITHOUT_KWARGS, ids=lambda r: r.name)
def test_url_without_kwargs_shows_nothing_of_other_organization(route, world):
    url = reverse(route.name) if route.named else "/" + route.route.lstrip("^").rstrip("$")
    response = _client_for(world, route).get(url)
    assert response.status_code < 500
    assert isolation.MARKER not in _body(response), f"GET {url} as A shows B's data"
