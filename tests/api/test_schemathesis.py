"""Property-based API testing with schemathesis against the COMMITTED openapi.yaml, as two
organizations, over every operation: no server errors and no response that violates the
schema (status code documented, content type, body schema). Positive and negative data."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.services.catalog import price_create, product_create
from billing.services.subscriptions import subscription_create
from customers.services.customers import customer_create
from tests.api.conftest import make_tenant

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES_PER_OPERATION = 6  # per mode and organization; keeps the run well under 90 s
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations whose side effects are slow or irrelevant to fuzz (a PDF render per example).
SKIP = {("GET", "/api/v1/invoices/{id}/pdf")}
EXAMPLE_COUNT = {"n": 0}


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """As Django's test client does: a WSGI request must not close the test's connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _seed(org) -> None:
    customer = customer_create(organization=org, name="Ana", email=f"ana@{org.slug}.cl")
    product = product_create(organization=org, name="Plan")
    price = price_create(product=product, currency="CLP", amount_minor=9990)
    subscription_create(customer=customer, price=price)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_every_operation_conforms_to_the_committed_schema(slug, settings_override=None):
    tenant = make_tenant(slug)
    other = make_tenant(f"{slug}-other")
    _seed(tenant.org)
    _seed(other.org)
    schema = schemathesis.openapi.from_path(SCHEMA_PATH)
    schema.app = WSGIHandler()
    auth = {"Authorization": f"Bearer {tenant.raw_key}"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 40
    failures: list[str] = []
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:  # an operation with nothing to make negative
                continue

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                EXAMPLE_COUNT["n"] += 1
                headers = dict(case.headers or {})
                headers.update(auth)
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Exception as exc:  # collect every failing operation, then fail once
                failures.append(f"{operation.method.upper()} {operation.path} [{mode}]: {exc}")
    print(f"schemathesis examples run as {slug}: {EXAMPLE_COUNT['n']}")
    assert not failures, "\n\n".join(failures)
