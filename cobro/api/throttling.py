"""Per-API-key rate limit, 429 with Retry-After beyond it.

The rule is DRF's ``SimpleRateThrottle``: a request is refused when the key already made
``num_requests`` allowed requests in the last ``duration`` seconds, and only allowed requests
count. With the Redis cache the log of request times is a sorted set updated by one Lua
script, atomically (DRF's read-modify-write of a pickled list loses counts between processes)
and in one round trip; API-key authentication runs the same script together with its key
stamp check (see ``cobro.api.authentication``), so an authenticated request costs one Redis
round trip in all. Other cache backends use DRF's implementation as it is.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from cobro.cache import RedisCache
from cobro.models import ApiKey

# KEYS[1] the API key's stamp, ARGV[1] the stamp the caller holds ("" = no check): when they
# differ nothing is counted and {0} is returned. KEYS[2] the request log (times as scores),
# ARGV[2] now (s), ARGV[3] duration (s), ARGV[4] num_requests, ARGV[5] a unique member.
# Returns {1, 1} when allowed (and logged), {1, 0, count, oldest time} when refused.
_SLIDING_LOG = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
local count = redis.call('ZCARD', KEYS[2])
if count >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {1, 0, count, oldest[2]}
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[3])))
return {1, 1}
"""
_scripts: dict[int, Any] = {}


def api_rate() -> str:
    return getattr(settings, "COBRO_API_RATE_LIMIT", "100/s")


def redis_cache() -> RedisCache | None:
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def throttle_key(prefix: str) -> str:
    # Not DRF's "throttle:api:<prefix>" (a pickled list): processes of the previous release
    # may still write that one while a deploy rolls out.
    return f"throttle:api-log:{prefix}"


@dataclass(frozen=True)
class RateDecision:
    rate: str
    allowed: bool
    wait: float | None = None


def rate_limit_count(
    backend: RedisCache, *, prefix: str, rate: str, stamp_key: str = "", stamp=None
) -> RateDecision | None:
    """Count one request of API key ``prefix`` against ``rate``, in one Redis round trip.

    With ``stamp_key``, only if the key's stamp in the cache is still ``stamp`` (else None,
    nothing counted)."""
    num, period = rate.split("/")
    num_requests, duration = int(num), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    client = backend.redis_client()
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_SLIDING_LOG)
    now = time.time()
    expected = b"" if not stamp_key else backend.redis_value(stamp)
    result = script(
        keys=[backend.redis_key(stamp_key or "-"), backend.redis_key(throttle_key(prefix))],
        args=[expected, repr(now), duration, num_requests, f"{now!r}:{os.urandom(6).hex()}"],
        client=client,
    )
    if not result[0]:
        return None
    if result[1]:
        return RateDecision(rate=rate, allowed=True)
    # DRF's wait(): the time until the oldest logged request leaves the window, shared among
    # the requests still available then.
    count, oldest = int(result[2]), float(result[3])
    available = num_requests - count + 1
    wait = None if available <= 0 else (duration - (now - oldest)) / available
    return RateDecision(rate=rate, allowed=False, wait=wait)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"
    _decision: RateDecision | None = None

    def get_rate(self):
        return api_rate()

    def allow_request(self, request, view):
        # Re-read the rate on each request so settings changes (tests) take effect.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # unauthenticated requests fail authentication anyway
        decision = getattr(request, "api_rate_decision", None)  # counted by authentication
        if decision is None or decision.rate != self.rate:
            backend = redis_cache()
            if backend is None:
                return super().allow_request(request, view)
            decision = rate_limit_count(backend, prefix=key.prefix, rate=self.rate)
        self._decision = decision
        return decision.allowed  # type: ignore[union-attr]

    def wait(self):
        if self._decision is not None:
            return self._decision.wait
        return super().wait()

    def get_cache_key(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return None
        return throttle_key(key.prefix)
