"""API-key authentication: ``Authorization: Bearer cobro_<prefix>_<secret>``."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from cobro import clock
from cobro.api.error_codes import ApiErrorCode
from cobro.models import ApiKey, Organization
from cobro.tenancy.context import set_current_organization

# last_used_at is informational: write it at most once a minute per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClient:
    """The principal of an API request: an organization acting through one of its keys."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organization: Organization = api_key.organization

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates a request by API key and makes the key's organization current.

    ``request.user`` is an ``ApiClient`` and ``request.auth`` the ``ApiKey``. The base API
    view resets the current organization when the request ends.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header."), code=ApiErrorCode.API_KEY_INVALID
            )
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raw = ""
        key = self._lookup(raw)
        if not key.is_active:
            raise exceptions.AuthenticationFailed(
                _("This API key has been revoked."), code=ApiErrorCode.API_KEY_REVOKED
            )
        self._touch(key)
        set_current_organization(key.organization)
        return ApiClient(key), key

    def _lookup(self, raw: str) -> ApiKey:
        invalid = exceptions.AuthenticationFailed(
            _("Invalid API key."), code=ApiErrorCode.API_KEY_INVALID
        )
        parsed = ApiKey.parse(raw)
        if parsed is None:
            raise invalid
        prefix, secret = parsed
        key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first()
        if key is None:
            ApiKey.hash_secret(secret)  # same work as a known prefix: no timing oracle
            raise invalid
        if not key.check_secret(secret):
            raise invalid
        return key

    @staticmethod
    def _touch(key: ApiKey) -> None:
        now = clock.now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the API key in the OpenAPI schema (an HTTP bearer token)."""

    target_class = "cobro.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "cobro_<prefix>_<secret>",
            "description": "An API key of the organization; it is shown once, when created.",
        }
