"""A client generated from the committed openapi.yaml by openapi-python-client drives a full
flow against a live server: customer, product, price, subscription, test clock advance, the
renewal invoice and its PDF."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cobro.models import Organization
from tests.api.conftest import make_tenant

SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture
def cobro_client(tmp_path):
    out = tmp_path / "cobro_client"
    subprocess.run(
        [str(GENERATOR), "generate", "--path", str(SCHEMA), "--output-path", str(out)]
        + ["--meta", "none"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("cobro_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [
            m for m in sys.modules if m == "cobro_client" or m.startswith("cobro_client.")
        ]:
            del sys.modules[name]


@pytest.mark.django_db(transaction=True)
def test_generated_client_runs_a_billing_flow(cobro_client, live_server):
    from cobro_client import AuthenticatedClient
    from cobro_client.api.customers import customers_create
    from cobro_client.api.invoices import invoices_list, invoices_pdf_retrieve
    from cobro_client.api.prices import prices_create
    from cobro_client.api.products import products_create
    from cobro_client.api.subscriptions import subscriptions_create
    from cobro_client.api.test_clock import test_clock_advance
    from cobro_client.models import (
        CustomerCreateRequest,
        PriceCreateInputRequest,
        ProductCreateInputRequest,
        SubscriptionCreateInputRequest,
        TestClockAdvanceInputRequest,
    )

    tenant = make_tenant("sdk", sandbox=True)
    Organization.objects.filter(pk=tenant.org.pk).update(
        test_clock_at=datetime(2025, 1, 10, 15, tzinfo=UTC)
    )
    client = AuthenticatedClient(base_url=live_server.url, token=tenant.raw_key)

    customer = customers_create.sync(
        client=client, body=CustomerCreateRequest(name="Ana", email="ana@sdk.cl")
    )
    assert customer.email == "ana@sdk.cl"
    product = products_create.sync(client=client, body=ProductCreateInputRequest(name="Plan"))
    price = prices_create.sync(
        client=client,
        body=PriceCreateInputRequest(product=product.id, currency="CLP", amount_minor=9990),
        idempotency_key="price-1",
    )
    assert price.amount_minor == 9990
    sub = subscriptions_create.sync(
        client=client, body=SubscriptionCreateInputRequest(customer=customer.id, price=price.id)
    )
    assert sub.status == "active"
    advanced = test_clock_advance.sync(
        client=client,
        body=TestClockAdvanceInputRequest(to=datetime(2025, 2, 20, tzinfo=UTC)),
    )
    assert advanced.invoices == 1
    page = invoices_list.sync(client=client, subscription=sub.id)
    assert len(page.results) == 2
    renewal = page.results[0]
    assert renewal.total_minor == 9990 and renewal.status.value in ("open", "paid")
    assert renewal.period_start.month == 2
    pdf = invoices_pdf_retrieve.sync_detailed(renewal.id, client=client)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
