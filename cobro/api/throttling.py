"""Per-API-key rate limit (Django cache), 429 with Retry-After beyond it."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from cobro.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self):
        return getattr(settings, "COBRO_API_RATE_LIMIT", "100/s")

    def allow_request(self, request, view):
        # Re-read the rate on each request so settings changes (tests) take effect.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return None  # unauthenticated requests fail authentication anyway
        return f"throttle:api:{key.prefix}"
