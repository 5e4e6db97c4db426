"""Stable error codes of the REST API (``error.code`` of every error response)."""

from enum import StrEnum


class ApiErrorCode(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"
    API_KEY_INVALID = "api_key_invalid"
    API_KEY_REVOKED = "api_key_revoked"
    SCOPE_MISSING = "scope_missing"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    MALFORMED_JSON = "malformed_json"
    INVALID = "invalid"
    REQUIRED = "required"
    UNKNOWN_FIELD = "unknown_field"
    AMOUNT_NOT_INTEGER = "amount_not_integer"
    NOT_INTEGER = "not_integer"
    INVALID_CURSOR = "invalid_cursor"
    PAGE_SIZE_TOO_LARGE = "page_size_too_large"
    RATE_LIMITED = "rate_limited"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_IN_PROGRESS = "idempotency_key_in_progress"
    CONFLICT = "conflict"
    DOCUMENT_NOT_AVAILABLE = "document_not_available"
