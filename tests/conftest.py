"""Shared fixtures. Every test has two organizations: the one under test (``org``) and a
second one (``other_org``) whose data exists so that leaks would show."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from cobro.tenancy.context import use_organization
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

# No per-example deadline: the suite shares two cores with PostgreSQL; speed lives in benchmarks.
# CI derandomizes so that a landing never depends on a lucky draw.
settings.register_profile(
    "cobro",
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cobro")


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", display_name="Acme SpA")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", display_name="Globex Ltda")


@pytest.fixture
def owner(org):
    user = UserFactory(email="owner@acme.test")
    MembershipFactory(organization=org, user=user, role="owner")
    return user


@pytest.fixture
def in_org(org):
    """Run the test with ``org`` as the current organization."""
    with use_organization(org):
        yield org


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client
