"""The committed openapi.yaml is exactly what drf-spectacular generates from the code."""

from __future__ import annotations

from pathlib import Path

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "openapi.yaml"


def generate_schema_yaml() -> bytes:
    generator = SchemaGenerator(api_version="v1")
    schema = generator.get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={})


def test_committed_openapi_schema_matches_the_code():
    assert SCHEMA_FILE.exists(), "openapi.yaml is missing: run `make openapi` and commit it"
    committed = SCHEMA_FILE.read_bytes()
    assert generate_schema_yaml() == committed, (
        "openapi.yaml is out of date with the API code: run `make openapi` and commit the "
        "regenerated openapi.yaml"
    )


def test_schema_documents_the_main_resources_and_error_body():
    text = SCHEMA_FILE.read_text()
    for path in (
        "/api/v1/customers:",
        "/api/v1/subscriptions/{id}/cancel:",
        "/api/v1/invoices/{id}/pdf:",
        "/api/v1/webhook_endpoints:",
    ):
        assert path in text
    assert "Idempotency-Key" in text and "components:" in text and "  Error:" in text
