"""The base of every API view: API-key authentication, tenant scoping and scope checks.

Every endpoint subclasses ``ApiView`` or ``ApiViewSet`` and names its ``resource``; reading
needs ``<resource>:read``, anything else ``<resource>:write`` (which implies read). The key's
organization is current for the whole request, so tenant models' default managers are scoped
to it and an object of another organization is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from cobro.api import idempotency
from cobro.api.authentication import ApiKeyAuthentication
from cobro.api.error_codes import ApiErrorCode
from cobro.api.errors import api_exception_handler
from cobro.models import ApiKey, Organization
from cobro.tenancy.context import reset_current_organization, set_current_organization


class HasApiScope(permissions.BasePermission):
    """The request's API key grants ``<view.resource>:read`` (safe methods) or ``:write``.

    A view can name other scopes per action with ``required_scopes = {"refund": "payments:write"}``.
    """

    message = _("This API key does not have the permission this request needs.")
    code = ApiErrorCode.SCOPE_MISSING

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return key.allows(required_scope(request, view))


def required_scope(request, view) -> str:
    action = getattr(view, "action", None)
    explicit = getattr(view, "required_scopes", {}) or {}
    if action and action in explicit:
        return explicit[action]
    verb = "read" if request.method in permissions.SAFE_METHODS else "write"
    return f"{view.resource}:{verb}"


class ApiViewMixin:
    """Shared behaviour of ``ApiView`` and ``ApiViewSet``."""

    authentication_classes: Sequence[type[BaseAuthentication]] = [ApiKeyAuthentication]
    permission_classes: Sequence[Any] = [HasApiScope]
    resource: str = ""
    required_scopes: dict[str, str] = {}

    def dispatch(self, request, *args, **kwargs):
        # Start from no organization (a browser's staff session must not leak into the API)
        # and restore whatever was current when the request ends.
        token = set_current_organization(None)
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            reset_current_organization(token)

    def get_exception_handler(self):
        return api_exception_handler

    # -- Idempotency-Key on POST (see cobro.api.idempotency) --------------------------------
    _idempotency_record = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        key = request.headers.get(idempotency.HEADER)
        if request.method == "POST" and key is not None:
            self._idempotency_record = idempotency.idempotency_claim(
                organization=self.organization, key=key, request=request._request
            )

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        try:
            return super().handle_exception(exc)  # type: ignore[misc]
        except Exception:
            if self._idempotency_record is not None:
                idempotency.idempotency_release(self._idempotency_record)
                self._idempotency_record = None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if self._idempotency_record is not None:
            idempotency.idempotency_complete(self._idempotency_record, response)
            self._idempotency_record = None
        return response

    @property
    def organization(self) -> Organization:
        return self.request.auth.organization  # type: ignore[attr-defined]


class ApiView(ApiViewMixin, APIView):
    """Base of a single API endpoint."""


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Base of a resource's viewset. ``queryset`` uses the tenant-scoped default manager.

    Object ids in URLs are positive 64-bit integers; anything else is a 404 (never a 500
    from the database).
    """

    lookup_value_regex = "[^/]+"
    model: Any = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no tenant
            return self.model.unscoped.none()
        return self.scope_queryset(self.model.objects.all())

    def filter_queryset(self, queryset):
        # Every filter reads a query parameter of its own name; without any (pagination's
        # aside) there is nothing to filter, and django-filter would still build and validate
        # its form (a detail request's biggest cost after the serializer).
        paginator = self.paginator
        own = (
            {paginator.cursor_query_param, paginator.page_size_query_param}
            if isinstance(paginator, CursorPagination)
            else set()
        )
        if all(name in own for name in self.request.query_params):
            return queryset
        return super().filter_queryset(queryset)

    def scope_queryset(self, queryset):
        """Hook for select/prefetch_related; the queryset is already tenant-scoped."""
        return queryset

    def lookup_id(self) -> int:
        """The object id of the URL; 404 unless a positive 64-bit integer."""
        lookup = self.lookup_url_kwarg or self.lookup_field
        raw = str(self.kwargs.get(lookup, ""))
        if not raw.isdigit() or not raw.isascii() or int(raw) > 2**63 - 1:
            raise exceptions.NotFound(code=ApiErrorCode.NOT_FOUND)
        return int(raw)

    def get_object(self):
        self.lookup_id()
        return super().get_object()


__all__ = ["ApiView", "ApiViewSet", "HasApiScope", "Response", "api_exception_handler", "status"]
