"""Fixtures of the API tests: two organizations, each with a full-scope API key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from cobro.models import Organization
from cobro.services.api_keys import api_key_create
from tests.factories import OrganizationFactory


@dataclass
class Tenant:
    org: Organization
    raw_key: str

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.raw_key}")
        return client


def make_tenant(slug: str, *, scopes=("*",), sandbox: bool = False) -> Tenant:
    org = OrganizationFactory(slug=slug, display_name=slug.title(), is_sandbox=sandbox)
    _, raw = api_key_create(organization=org, name="test", scopes=list(scopes), actor=None)
    return Tenant(org=org, raw_key=raw)


@pytest.fixture
def tenant_a(db) -> Tenant:
    return make_tenant("acme")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return make_tenant("globex")


@pytest.fixture
def api_a(tenant_a) -> APIClient:
    return tenant_a.client()


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.COBRO_API_RATE_LIMIT = "100000/s"
