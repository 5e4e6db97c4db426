"""Cursor pagination of every API list: ``?limit=`` (1-100, default 20) and opaque cursors."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.pagination import CursorPagination

from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import ApiError

MAX_PAGE_SIZE = 100


class ApiCursorPagination(CursorPagination):
    """Stable under concurrent inserts (keyset on ``-created_at, -pk`` unless a view says
    otherwise). A ``limit`` above the maximum is a 400 with ``page_size_too_large``, not a
    silent clamp, so a client never believes it has read everything when it has not."""

    page_size = 20
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "limit"
    ordering = ("-created_at", "-pk")
    invalid_cursor_message = "invalid_cursor"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ApiError(
                ApiErrorCode.INVALID, _("limit must be an integer."), param="limit"
            ) from None
        if value < 1:
            raise ApiError(ApiErrorCode.INVALID, _("limit must be at least 1."), param="limit")
        if value > self.max_page_size:
            raise ApiError(
                ApiErrorCode.PAGE_SIZE_TOO_LARGE,
                _("limit must be at most %(max)d.") % {"max": self.max_page_size},
                param="limit",
            )
        return value

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception:
            raise ApiError(
                ApiErrorCode.INVALID_CURSOR, _("Invalid cursor."), param="cursor"
            ) from None

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for p in params:
            if p["name"] == self.page_size_query_param:
                p["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return params
