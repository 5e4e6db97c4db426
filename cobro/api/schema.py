"""OpenAPI generation details shared by every endpoint: the Idempotency-Key header on POST and
the documented error responses (one ``Error`` body everywhere)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from cobro.api.idempotency import HEADER as IDEMPOTENCY_HEADER

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error response has this body.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable machine-readable code, e.g. `not_found`.",
                },
                "message": {"type": "string", "description": "Human-readable explanation."},
                "param": {
                    "type": "string",
                    "nullable": True,
                    "description": "The field or parameter at fault, when there is one.",
                },
            },
            "required": ["code", "message", "param"],
        }
    },
    "required": ["error"],
    "example": {
        "error": {
            "code": "amount_not_integer",
            "message": "Amounts are integers in the currency's minor unit.",
            "param": "amount_minor",
        }
    },
}

COMMON_ERRORS = {
    "400": "Invalid request (malformed JSON, wrong types, unknown fields, bad values).",
    "401": "Missing, invalid or revoked API key.",
    "403": "The API key lacks the scope this operation needs.",
    "404": "No such object in the key's organization.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflict: the object's state forbids this, or an Idempotency-Key clash.",
    "415": "Unsupported media type (send application/json).",
    "429": "Rate limit exceeded; see the Retry-After header.",
}


class ApiAutoSchema(AutoSchema):
    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        model = getattr(self.view, "model", None)
        if "{id}" in self.path and model is not None:
            # URLs accept any text (anything else is a JSON 404), but ids are integers (UUIDs
            # for events): say so, so generated clients type them.
            pk_type = str if model._meta.pk.get_internal_type() == "UUIDField" else int
            params.append(
                OpenApiParameter("id", pk_type, OpenApiParameter.PATH, description="Object id.")
            )
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        "Makes the POST safe to retry: the first response is stored and "
                        "replayed for 24 hours; another request with the same key is a 409."
                    ),
                )
            )
        return params


def add_common_responses(result, generator, request, public):
    """Postprocessing hook: the ``Error`` component and the error responses of every
    operation (only those that are not already documented)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in COMMON_ERRORS.items():
                if status in ("415",) and method not in ("post", "put", "patch"):
                    continue
                responses.setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result
