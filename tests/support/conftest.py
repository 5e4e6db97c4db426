"""Fixtures of the support tests: a customer of ``org`` with an invoice and a subscription,
portal clients, files (a real PNG, a real PDF, a script renamed .pdf) and raw emails."""

from __future__ import annotations

import io
import shutil

import pytest
from django.core.cache import cache

from billing.services.invoices import ManualItem, invoice_create_one_off
from billing.services.subscriptions import subscription_create
from cobro.tenancy.context import use_organization
from tests.billing.factories import PriceFactory, ProductFactory
from tests.customers.factories import CustomerFactory
from tests.customers.portal.conftest import portal_client

INBOUND = "reply@in.cobro.test"


@pytest.fixture(autouse=True)
def _support_settings(settings, tmp_path):
    settings.LANGUAGE_CODE = "en"
    settings.COBRO_SUPPORT_FILES_ROOT = tmp_path / "support-files"
    settings.COBRO_SUPPORT_INBOUND_ADDRESS = INBOUND
    settings.COBRO_SUPPORT_INBOUND_SECRET = "inbound-secret"
    cache.clear()
    yield
    shutil.rmtree(tmp_path / "support-files", ignore_errors=True)


def png_bytes(size=(8, 8)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
SCRIPT_AS_PDF = b"#!/bin/sh\nrm -rf / # <script>alert(1)</script>\n"


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Ana Pérez", email="ana@acme.test", locale="en")


@pytest.fixture
def other_customer(org):
    return CustomerFactory(organization=org, name="Bruno Soto", email="bruno@acme.test")


@pytest.fixture
def subscription(org, customer):
    price = PriceFactory(
        organization=org,
        product=ProductFactory(organization=org, name="Café mensual"),
        amount_minor=12_990,
    )
    with use_organization(org):
        return subscription_create(customer=customer, price=price)


@pytest.fixture
def invoice(org, customer):
    with use_organization(org):
        return invoice_create_one_off(
            customer=customer,
            currency="CLP",
            items=[ManualItem(description="Molinillo", unit_amount_minor=34_990)],
        )


@pytest.fixture
def client_a(customer):
    return portal_client(customer)
