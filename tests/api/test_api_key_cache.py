"""The per-process cache of verified API keys never outlives a revocation or a change of the
key's organization, in this process or (simulated) in another one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cobro.api import authentication
from cobro.models import ApiKey
from cobro.services.api_keys import api_key_revoke
from tests.api.conftest import make_tenant


@pytest.fixture(autouse=True)
def _key_cache_on(settings):
    settings.COBRO_API_KEY_CACHE = True
    authentication._keys.clear()
    yield
    authentication._keys.clear()


def _key_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/customers")
    reads = [q for q in ctx.captured_queries if 'FROM "cobro_apikey"' in q["sql"]]
    return response.status_code, len(reads)


@pytest.mark.django_db
def test_a_known_key_is_not_read_again():
    tenant = make_tenant("acme")
    client = tenant.client()
    assert _key_queries(client) == (200, 1)
    assert _key_queries(client) == (200, 0)


@pytest.mark.django_db
def test_revocation_takes_effect_on_the_next_request():
    tenant = make_tenant("acme")
    client = tenant.client()
    assert _key_queries(client) == (200, 1)
    key = ApiKey.objects.get(organization=tenant.org)
    api_key_revoke(api_key=key, actor=None)
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


@pytest.mark.django_db
def test_another_process_copy_is_not_trusted_after_revocation():
    tenant = make_tenant("acme")
    client = tenant.client()
    assert client.get("/api/v1/customers").status_code == 200
    prefix = ApiKey.objects.get(organization=tenant.org).prefix
    stale = authentication._keys[prefix]  # what another worker process still holds
    api_key_revoke(api_key=ApiKey.objects.get(prefix=prefix), actor=None)
    authentication._keys[prefix] = stale
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


@pytest.mark.django_db
def test_a_change_to_the_organization_drops_the_cached_copy():
    tenant = make_tenant("acme")
    client = tenant.client()
    assert _key_queries(client) == (200, 1)
    tenant.org.time_zone = "America/Mexico_City"
    tenant.org.save()
    assert _key_queries(client) == (200, 1)
    cached = authentication._keys[ApiKey.objects.get(organization=tenant.org).prefix][1]
    assert cached.organization.time_zone == "America/Mexico_City"


@pytest.mark.django_db
def test_sandbox_keys_are_read_every_time():
    tenant = make_tenant("lab", sandbox=True)
    client = tenant.client()
    assert _key_queries(client) == (200, 1)
    assert _key_queries(client) == (200, 1)


@pytest.mark.django_db
def test_without_a_shared_cache_every_request_reads_the_key(settings):
    settings.COBRO_API_KEY_CACHE = False
    tenant = make_tenant("acme")
    client = tenant.client()
    assert _key_queries(client) == (200, 1)
    assert _key_queries(client) == (200, 1)
