"""API keys: created once-visible, authenticate API requests, scoped and revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from cobro import clock
from cobro.models import ApiKey, AuditEntry
from cobro.services.api_keys import api_key_create, api_key_revoke

ORG_URL = "/api/v1/organization"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def key_and_raw(org, owner):
    return api_key_create(organization=org, name="ERP", scopes=["organization:read"], actor=owner)


def _get(api, raw, url=ORG_URL):
    return api.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.mark.django_db
def test_created_key_is_shown_once_and_stored_hashed(org, owner, key_and_raw):
    key, raw = key_and_raw
    assert raw.startswith(f"cobro_{key.prefix}_")
    secret = raw.split("_")[2]
    assert len(secret) >= 32
    stored = ApiKey.objects.get(pk=key.pk)
    assert secret not in stored.secret_hash
    assert stored.check_secret(secret)
    assert stored.created_by == owner
    entry = AuditEntry.unscoped.get(action="api_key.created")
    assert entry.organization == org and entry.target_id == str(key.pk)
    assert secret not in str(entry.changes)


@pytest.mark.django_db
@pytest.mark.parametrize("scopes", [[], ["customers"], ["customers:delete"], ["Customers:read"]])
def test_create_rejects_bad_scopes(org, owner, scopes):
    with pytest.raises(ValidationError):
        api_key_create(organization=org, name="ERP", scopes=scopes, actor=owner)
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_valid_key_reads_its_organization(api, org, key_and_raw):
    _, raw = key_and_raw
    response = _get(api, raw)
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert response.json()["display_name"] == "Acme SpA"


@pytest.mark.django_db
def test_key_of_org_b_sees_org_b_not_org_a(api, org, other_org, key_and_raw):
    _, raw_b = api_key_create(
        organization=other_org, name="B", scopes=["organization:read"], actor=None
    )
    body = _get(api, raw_b).json()
    assert body["slug"] == "globex"
    assert "acme" not in str(body).lower()


@pytest.mark.django_db
def test_revoked_key_gets_401_with_stable_code(api, owner, key_and_raw):
    key, raw = key_and_raw
    api_key_revoke(api_key=key, actor=owner)
    response = _get(api, raw)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEntry.unscoped.filter(action="api_key.revoked").count() == 1
    api_key_revoke(api_key=key, actor=owner)  # twice: no-op
    assert AuditEntry.unscoped.filter(action="api_key.revoked").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer cobro_nope_nope", "Bearer not-a-key", "Token abc"],
)
def test_missing_or_wrong_key_gets_401(api, key_and_raw, header):
    key, raw = key_and_raw
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = api.get(ORG_URL, **kwargs)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"api_key_invalid", "not_authenticated"}


@pytest.mark.django_db
def test_right_prefix_wrong_secret_gets_401(api, key_and_raw):
    key, _ = key_and_raw
    response = _get(api, f"cobro_{key.prefix}_{'x' * 40}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


@pytest.mark.django_db
def test_key_without_the_scope_gets_403(api, org):
    _, raw = api_key_create(organization=org, name="CRM", scopes=["customers:read"], actor=None)
    response = _get(api, raw)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"


@pytest.mark.django_db
def test_read_scope_does_not_allow_writes(api, key_and_raw):
    _, raw = key_and_raw
    response = api.post(ORG_URL, {}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403


@pytest.mark.django_db
def test_wildcard_scope_allows_everything(api, org):
    _, raw = api_key_create(organization=org, name="All", scopes=["*"], actor=None)
    assert _get(api, raw).status_code == 200


@pytest.mark.django_db
def test_last_used_is_recorded_at_most_once_a_minute(api, key_and_raw):
    key, raw = key_and_raw
    t0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(t0):
        _get(api, raw)
    with clock.frozen(t0 + timedelta(seconds=30)):
        _get(api, raw)
    key.refresh_from_db()
    assert key.last_used_at == t0
    with clock.frozen(t0 + timedelta(minutes=2)):
        _get(api, raw)
    key.refresh_from_db()
    assert key.last_used_at == t0 + timedelta(minutes=2)


@pytest.mark.django_db
def test_staff_session_does_not_authenticate_the_api(owner_client):
    response = owner_client.get(ORG_URL)
    assert response.status_code == 401


@pytest.mark.django_db
def test_openapi_schema_and_offline_docs_are_served(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/organization" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    redoc = client.get("/api/v1/redoc/")
    assert redoc.status_code == 200
    html = redoc.content.decode()
    assert "redoc.standalone.js" in html
    assert "googleapis" not in html and "cdn" not in html.lower()


# --- a resource viewset on the base classes (its own URLconf: this module) ----------------------

from django.urls import include, path  # noqa: E402
from rest_framework import mixins, routers, serializers  # noqa: E402

from cobro.api.base import ApiViewSet  # noqa: E402
from customers.models import Customer  # noqa: E402


class _CustomerOut(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]


class _CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "customers"
    serializer_class = _CustomerOut

    def get_queryset(self):
        return Customer.objects.order_by("pk")  # the scoped default manager, nothing else


_router = routers.SimpleRouter()
_router.register("customers", _CustomerViewSet, basename="customer")
urlpatterns = [path("api/v1/", include(_router.urls))]


@pytest.fixture
def customers_api(settings, org, other_org):
    settings.ROOT_URLCONF = __name__
    mine = Customer.unscoped.create(organization=org, name="Ana", email="ana@acme.test")
    theirs = Customer.unscoped.create(organization=other_org, name="Otro", email="o@globex.test")
    _, raw = api_key_create(organization=org, name="CRM", scopes=["customers:read"], actor=None)
    return mine, theirs, raw


@pytest.mark.django_db
def test_viewset_lists_only_the_keys_organization(api, customers_api):
    mine, theirs, raw = customers_api
    body = _get(api, raw, "/api/v1/customers/").json()
    assert [c["id"] for c in body["results"]] == [mine.pk]


@pytest.mark.django_db
def test_viewset_answers_404_for_another_organizations_object(api, customers_api):
    mine, theirs, raw = customers_api
    assert _get(api, raw, f"/api/v1/customers/{mine.pk}/").status_code == 200
    response = _get(api, raw, f"/api/v1/customers/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "Otro" not in response.content.decode()


@pytest.mark.django_db
def test_viewset_needs_its_resource_scope(api, customers_api, org):
    _, raw = api_key_create(organization=org, name="x", scopes=["organization:read"], actor=None)
    response = _get(api, raw, "/api/v1/customers/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"
