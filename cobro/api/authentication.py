"""API-key authentication: ``Authorization: Bearer cobro_<prefix>_<secret>``.

Verified keys are kept per process (with their organization) so a request does not read the
key from the database, as long as a stamp in the shared cache (Redis) still matches the one
the process saw when it read the key. Saving or deleting a key or its organization deletes
the stamp, at once and again after commit, so a revocation takes effect on the very next
request in every process. The order (stamp first, then the database) means a process can
never keep a key read before a change under a stamp set after it. Keys of sandbox
organizations are never kept (their test clock moves by plain UPDATEs). Only with a shared
cache backend (Redis); with the database cache every request reads the key.

A request with a key the process holds costs one Redis round trip: the stamp is compared, and
the request counted for the per-key rate limit, by one script (``cobro.api.throttling``).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from cobro import clock
from cobro.api import throttling
from cobro.api.error_codes import ApiErrorCode
from cobro.models import ApiKey, Organization
from cobro.tenancy.context import set_current_organization

# last_used_at is informational: write it at most once a minute per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Per-process cache of verified keys: prefix -> (stamp, ApiKey with its organization).
KEY_CACHE_SIZE = 1024
STAMP_TIMEOUT = 3600
_keys: OrderedDict[str, tuple[str, ApiKey]] = OrderedDict()
_keys_lock = threading.Lock()


def _stamp_key(prefix: str) -> str:
    return f"api-key-stamp:{prefix}"


def key_cache_enabled() -> bool:
    """Only a cache shared by every process can carry the stamps (Redis, not the database
    cache nor a per-process memory cache)."""
    default = settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    return bool(getattr(settings, "COBRO_API_KEY_CACHE", default))


def api_key_cache_invalidate(prefixes) -> None:
    """Forget keys everywhere: delete their stamps now (and this process's copies)."""
    prefixes = list(prefixes)
    if not prefixes:
        return
    with _keys_lock:
        for prefix in prefixes:
            _keys.pop(prefix, None)
    if key_cache_enabled():
        cache.delete_many([_stamp_key(p) for p in prefixes])


def _invalidate_now_and_after_commit(prefixes: list[str]) -> None:
    api_key_cache_invalidate(prefixes)
    # A process that read the old row before this transaction commits is stamped with a
    # stamp deleted again here, after the commit.
    transaction.on_commit(lambda: api_key_cache_invalidate(prefixes))


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="api_key_cache_key")
def _api_key_changed(sender, instance: ApiKey, **kwargs) -> None:
    _invalidate_now_and_after_commit([instance.prefix])


@receiver([post_save, post_delete], sender=Organization, dispatch_uid="api_key_cache_org")
def _organization_changed(sender, instance: Organization, **kwargs) -> None:
    if kwargs.get("signal") is post_save and kwargs.get("created"):
        return
    prefixes = list(
        ApiKey.objects.filter(organization_id=instance.pk).values_list("prefix", flat=True)
    )
    _invalidate_now_and_after_commit(prefixes)


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
        key = self._lookup(raw, request)
        if not key.is_active:
            raise exceptions.AuthenticationFailed(
                _("This API key has been revoked."), code=ApiErrorCode.API_KEY_REVOKED
            )
        self._touch(key)
        set_current_organization(key.organization)
        return ApiClient(key), key

    def _lookup(self, raw: str, request) -> ApiKey:
        invalid = exceptions.AuthenticationFailed(
            _("Invalid API key."), code=ApiErrorCode.API_KEY_INVALID
        )
        parsed = ApiKey.parse(raw)
        if parsed is None:
            raise invalid
        prefix, secret = parsed
        key = self._cached_and_counted(prefix, secret, request)
        if key is not None:
            return key
        key = self._cached_or_fetched(prefix)
        if key is None:
            ApiKey.hash_secret(secret)  # same work as a known prefix: no timing oracle
            raise invalid
        if not key.check_secret(secret):
            raise invalid
        return key

    @staticmethod
    def _cached_and_counted(prefix: str, secret: str, request) -> ApiKey | None:
        """The fast path: a key this process holds, whose secret matches, checked against its
        stamp in the same Redis round trip that counts the request for the rate limit
        (``request.api_rate_decision``, which ``ApiKeyRateThrottle`` applies). None: take the
        ordinary path (nothing was counted)."""
        backend = throttling.redis_cache()
        if backend is None or not key_cache_enabled():
            return None
        with _keys_lock:
            hit = _keys.get(prefix)
        if hit is None or not hit[1].check_secret(secret):
            return None
        stamp, key = hit
        decision = throttling.rate_limit_count(
            backend,
            prefix=prefix,
            rate=throttling.api_rate(),
            stamp_key=_stamp_key(prefix),
            stamp=stamp,
        )
        if decision is None:
            return None  # the key changed: read it again
        request.api_rate_decision = decision
        with _keys_lock:
            if prefix in _keys:
                _keys.move_to_end(prefix)
        return key

    @staticmethod
    def _fetch(prefix: str) -> ApiKey | None:
        return ApiKey.objects.select_related("organization").filter(prefix=prefix).first()

    def _cached_or_fetched(self, prefix: str) -> ApiKey | None:
        if not key_cache_enabled():
            return self._fetch(prefix)
        stamp_key = _stamp_key(prefix)
        stamp = cache.get(stamp_key)
        if stamp is None:
            # Stamp first, then read the row: see the module docstring.
            cache.add(stamp_key, uuid.uuid4().hex, STAMP_TIMEOUT)
            stamp = cache.get(stamp_key)
        with _keys_lock:
            hit = _keys.get(prefix)
            if hit is not None and stamp is not None and hit[0] == stamp:
                _keys.move_to_end(prefix)
                return hit[1]
        key = self._fetch(prefix)
        if key is not None and stamp is not None and not key.organization.is_sandbox:
            with _keys_lock:
                _keys[prefix] = (stamp, key)
                while len(_keys) > KEY_CACHE_SIZE:
                    _keys.popitem(last=False)
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
