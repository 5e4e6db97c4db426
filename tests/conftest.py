"""Shared fixtures. Every test has two organizations: the one under test (``org``) and a
second one (``other_org``) whose data exists so that leaks would show."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


# --- real-browser fixtures: Playwright (sync API) driving Debian's Chromium, headless ---------
# One session-scoped Playwright per worker: a second sync_playwright() in the same thread fails
# ("Sync API inside the asyncio loop"), so browser tests anywhere must share these.
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "e2e"
CHROMIUM = os.environ.get("COBRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make browser-deps installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM would otherwise
    # refuse to run in the test body.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="es-419")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "name")`` saves artifacts/e2e/<test name>-<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
