"""One error body for the whole API: ``{"error": {"code": ..., "message": ..., "param": ...}}``.

``code`` is stable (``cobro.api.error_codes.ApiErrorCode`` or a domain app's error code),
``message`` is for humans (translated), ``param`` names the offending field or parameter when
there is one. DRF's exceptions, Django's ``ValidationError`` from services, ``BillingError``
and unexpected ``IntegrityError`` races are all mapped here, so no error leaves as a 500 page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from cobro.api.error_codes import ApiErrorCode

logger = logging.getLogger(__name__)

# Domain error codes that mean "not in this state" rather than "bad input": 409.
CONFLICT_CODES = frozenset(
    {
        "invalid_transition",
        "invoice_not_draft",
        "invoice_not_creditable",
        "nothing_to_change",
        "price_archived",
        "price_in_use",
        "duplicate_email",
        "coupon_exhausted",
        "coupon_inactive",
        "coupon_expired",
        "tax_rate_inactive",
        "invoice_not_payable",
        "attempt_in_flight",
        "refund_not_allowed",
    }
)


class ApiError(exceptions.APIException):
    """An API error with an explicit code, message, parameter and status."""

    def __init__(
        self, code: str, message: str, *, param: str | None = None, status_code: int = 400
    ):
        super().__init__(detail=message, code=code)
        self.code = code
        self.message = message
        self.param = param
        self.status_code = status_code


def error_body(code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"code": str(code), "message": str(message), "param": param}}


def _first_error(detail: Any, prefix: str = "") -> tuple[str, str, str | None]:
    """(code, message, param) of the first error in a DRF ``detail`` structure."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            param = f"{prefix}.{name}" if prefix and name else (name or prefix)
            return _first_error(value, param)
    if isinstance(detail, list):
        for i, value in enumerate(detail):
            if isinstance(value, dict | list):
                return _first_error(value, f"{prefix}[{i}]" if prefix else str(i))
            return _first_error(value, prefix)
    code = getattr(detail, "code", None) or ApiErrorCode.INVALID
    return str(code), str(detail), prefix or None


def _django_validation(exc: DjangoValidationError) -> tuple[str, str, str | None]:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            first = errors[0]
            message = first.message % first.params if first.params else first.message
            param = None if field == "__all__" else field
            return str(first.code or ApiErrorCode.INVALID), str(message), param
    first = exc.error_list[0] if hasattr(exc, "error_list") else exc
    message = first.message % first.params if first.params else first.message
    return str(first.code or ApiErrorCode.INVALID), str(message), None


def _code_for(exc: exceptions.APIException) -> str:
    mapping = {
        exceptions.NotAuthenticated: ApiErrorCode.NOT_AUTHENTICATED,
        exceptions.MethodNotAllowed: ApiErrorCode.METHOD_NOT_ALLOWED,
        exceptions.NotAcceptable: ApiErrorCode.NOT_ACCEPTABLE,
        exceptions.UnsupportedMediaType: ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
        exceptions.ParseError: ApiErrorCode.MALFORMED_JSON,
        exceptions.Throttled: ApiErrorCode.RATE_LIMITED,
    }
    for cls, mapped in mapping.items():
        if isinstance(exc, cls):
            return mapped.value
    code = getattr(exc.detail, "code", None)
    if code in (None, "not_found", "permission_denied", "authentication_failed", "error"):
        if isinstance(exc, exceptions.NotFound):
            return ApiErrorCode.NOT_FOUND.value
        if isinstance(exc, exceptions.PermissionDenied):
            return ApiErrorCode.SCOPE_MISSING.value
        if isinstance(exc, exceptions.AuthenticationFailed):
            return ApiErrorCode.API_KEY_INVALID.value
    return str(code or exc.default_code)


def api_exception_handler(exc, context):
    """DRF exception handler of the API (set for every API view and as the DRF default)."""
    from billing.error_codes import BillingError
    from billing.payments.error_codes import PaymentError

    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."), code=ApiErrorCode.NOT_FOUND)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(code=ApiErrorCode.SCOPE_MISSING)

    if isinstance(exc, ApiError):
        status_code = exc.status_code
        body = error_body(exc.code, exc.message, exc.param)
    elif isinstance(exc, BillingError | PaymentError):
        code = exc.code.value
        status_code = status.HTTP_409_CONFLICT if code in CONFLICT_CODES else 400
        body = error_body(code, exc.message, getattr(exc, "params", {}).get("param"))
    elif isinstance(exc, DjangoValidationError):
        code, message, param = _django_validation(exc)
        status_code = status.HTTP_409_CONFLICT if code in CONFLICT_CODES else 400
        body = error_body(code, message, param)
    elif isinstance(exc, exceptions.ValidationError):
        code, message, param = _first_error(exc.detail)
        status_code = 400
        body = error_body(code, message, param)
    elif isinstance(exc, exceptions.APIException):
        status_code = exc.status_code
        message = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
        body = error_body(_code_for(exc), message)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    else:
        return None
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        view = context.get("view")
        request = context.get("request")
        if view is not None and request is not None:
            header = view.get_authenticate_header(request)
            if header:
                headers["WWW-Authenticate"] = header
                status_code = status.HTTP_401_UNAUTHORIZED
    set_rollback()
    return Response(body, status=status_code, headers=headers)
