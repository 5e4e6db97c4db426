"""Shared fixtures. Every test has two organizations: the one under test (``org``) and a
second one (``other_org``) whose data exists so that leaks would show."""

from __future__ import annotations

import pytest

from cobro.tenancy.context import use_organization
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


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
