"""Demo data. Each app adds its part through ``DEMO_SEEDERS``; every seeder is idempotent."""

from __future__ import annotations

from collections.abc import Callable

from cobro.models import Organization
from cobro.tenancy.context import use_organization

DEMO_SEEDERS: list[Callable[[Organization], None]] = []


def demo_seeder(fn: Callable[[Organization], None]) -> Callable[[Organization], None]:
    DEMO_SEEDERS.append(fn)
    return fn


def seed_demo_data(org: Organization) -> None:
    with use_organization(org):
        for seeder in DEMO_SEEDERS:
            seeder(org)
