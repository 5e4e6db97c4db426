"""The API's hot read paths (invoice detail and list) give exactly what DRF's generic path
gives, in a fixed number of queries and (with Redis) one cache round trip per request."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from billing.api import serializers as s
from billing.models import Invoice, InvoiceLine, InvoiceTax, TaxRate
from cobro.api import authentication, throttling
from cobro.models.base import ScopedSelect
from cobro.tenancy.context import NoCurrentOrganization, use_organization
from customers.models import Customer


def _drf(serializer_class, instance) -> dict:
    """What DRF's own ModelSerializer machinery gives for ``instance``."""
    serializer = serializer_class(instance)
    fields = serializer._readable_fields
    out: dict[str | None, Any] = {}
    for field in fields:
        attribute = field.get_attribute(instance)
        if attribute is None:
            out[field.field_name] = None
        elif isinstance(field, serializers.ListSerializer):
            out[field.field_name] = [_drf(type(field.child), x) for x in attribute.all()]
        else:
            out[field.field_name] = field.to_representation(attribute)
    return out


_numbers = itertools.count(1)


def _invoice(org, *, full: bool) -> Invoice:
    n = next(_numbers)
    customer = Customer.unscoped.create(organization=org, name="Ana", email=f"ana{n}@x.cl")
    rate = TaxRate.unscoped.create(organization=org, name="IVA", percentage=Decimal("19.5"))
    moment = datetime(2026, 3, 1, 12, 0, 0, 0 if full else 123456, tzinfo=UTC)
    invoice = Invoice.unscoped.create(
        organization=org,
        customer=customer,
        currency="CLP",
        status="paid" if full else "draft",
        billing_reason="manual",
        number=f"F-{n:07d}" if full else None,
        sequence_number=n if full else None,
        period_start=moment if full else None,
        period_end=moment if full else None,
        created_at=moment,
        issued_at=moment if full else None,
        due_at=moment if full else None,
        paid_at=moment if full else None,
        subtotal_minor=10_000,
        tax_minor=1_950,
        total_minor=11_950,
        amount_due_minor=11_950,
        amount_paid_minor=11_950 if full else 0,
        memo="Gracias" if full else "",
    )
    for position in (1, 0):
        InvoiceLine.unscoped.create(
            organization=org,
            invoice=invoice,
            position=position,
            kind="manual",
            description=f"Línea {position}",
            quantity=2,
            unit_amount_minor=2_500,
            amount_minor=5_000,
            tax_rate=rate if full else None,
            period_start=moment if full else None,
            period_end=moment if full else None,
        )
    if full:
        InvoiceTax.unscoped.create(
            organization=org,
            invoice=invoice,
            tax_rate=rate,
            name="IVA",
            percentage=Decimal("19.5"),
            taxable_base_minor=10_000,
            amount_minor=1_950,
        )
    return invoice


@pytest.mark.django_db
@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("tz", ["UTC", "America/Santiago"])
def test_invoice_output_is_exactly_drfs(tenant_a, full, tz):
    invoice = _invoice(tenant_a.org, full=full)
    with use_organization(tenant_a.org), timezone.override(zoneinfo.ZoneInfo(tz)):
        fresh = Invoice.objects.get(pk=invoice.pk)
        expected = _drf(s.InvoiceOutputSerializer, fresh)
        assert s.InvoiceOutputSerializer(fresh).data == expected
        assert list(expected) == s.InvoiceOutputSerializer.Meta.fields
        assert [line["description"] for line in expected["lines"]] == ["Línea 0", "Línea 1"]
        # Lines and taxes loaded by the API's selectors give the same output.
        page = s.InvoiceOutputSerializer([fresh], many=True).data
        assert page == [expected]


@pytest.mark.django_db
def test_invoice_detail_and_list_match_the_generic_path_in_few_queries(api_a, tenant_a):
    invoice = _invoice(tenant_a.org, full=True)
    _invoice(tenant_a.org, full=False)
    assert api_a.get("/api/v1/invoices").status_code == 200  # warm: key read, last_used_at
    with CaptureQueriesContext(connection) as detail_queries:
        detail = api_a.get(f"/api/v1/invoices/{invoice.pk}")
    with CaptureQueriesContext(connection) as list_queries:
        listed = api_a.get("/api/v1/invoices?limit=20")
    assert detail.status_code == listed.status_code == 200
    assert len(detail_queries) == 3  # invoice, lines, taxes
    assert len(list_queries) == 3  # page, lines, taxes
    with use_organization(tenant_a.org):
        expected = [_drf(s.InvoiceOutputSerializer, i) for i in Invoice.objects.all()]
    assert detail.json() == next(e for e in expected if e["id"] == invoice.pk)
    assert listed.json()["results"] == expected


@pytest.mark.django_db
def test_invoice_detail_of_another_organization_or_filtered_out_is_not_found(
    api_a, tenant_a, tenant_b
):
    mine = _invoice(tenant_a.org, full=True)
    theirs = _invoice(tenant_b.org, full=True)
    assert api_a.get(f"/api/v1/invoices/{theirs.pk}").status_code == 404
    assert api_a.get(f"/api/v1/invoices/{mine.pk}?status=paid").status_code == 200
    assert api_a.get(f"/api/v1/invoices/{mine.pk}?status=void").status_code == 404
    assert api_a.get("/api/v1/invoices?status=void").json()["results"] == []


def test_scoped_select_refuses_to_run_without_an_organization():
    select = ScopedSelect(Invoice, '"id" = %s')
    with pytest.raises(NoCurrentOrganization):
        select.fetch(1)


@pytest.mark.django_db
def test_a_known_key_costs_one_redis_round_trip_and_is_counted(settings, tenant_a, monkeypatch):
    if throttling.redis_cache() is None:
        pytest.skip("needs the Redis cache (REDIS_URL)")
    settings.COBRO_API_KEY_CACHE = True
    settings.COBRO_API_RATE_LIMIT = "3/min"
    authentication._keys.clear()
    import redis.connection

    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(conn, command, check_health=True):
        sent.append(command)
        return original(conn, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    client = tenant_a.client()
    assert client.get("/api/v1/customers").status_code == 200  # reads the key: stamp, count
    sent.clear()
    assert client.get("/api/v1/customers").status_code == 200
    assert len(sent) == 1
    assert client.get("/api/v1/customers").status_code == 200
    response = client.get("/api/v1/customers")  # the 4th in a minute, over both paths
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    authentication._keys.clear()
