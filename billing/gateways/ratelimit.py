"""Per-gateway concurrency and rate limit, with backoff on 429.

Each worker process holds at most ``Gateway.max_concurrency`` calls in flight per gateway and
starts at most ``Gateway.max_rate`` calls per second (a token bucket); set
``COBRO_GATEWAY_LIMITS = {"stripe": {"concurrency": 25, "rate": 25}}`` to share a provider's
limit among N worker processes. A ``GatewayRateLimited`` answer (HTTP 429: nothing was done)
is retried after an exponential, jittered backoff.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from billing.gateways.base import Gateway, GatewayRateLimited

T = TypeVar("T")

_lock = threading.Lock()
_limits: dict[str, _Limit] = {}

BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
MAX_RATE_LIMITED_TRIES = 6


class _Limit:
    def __init__(self, concurrency: int, rate: float) -> None:
        self.semaphore = threading.BoundedSemaphore(concurrency)
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take_token(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


def _limit_for(gateway: Gateway) -> _Limit:
    with _lock:
        limit = _limits.get(gateway.name)
        if limit is None:
            conf = getattr(settings, "COBRO_GATEWAY_LIMITS", {}).get(gateway.name, {})
            limit = _Limit(
                int(conf.get("concurrency", gateway.max_concurrency)),
                float(conf.get("rate", gateway.max_rate)),
            )
            _limits[gateway.name] = limit
        return limit


def backoff_delay(tries: int) -> float:
    """Seconds to wait after the ``tries``-th 429 (>= 1): exponential with full jitter."""
    cap = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (tries - 1))
    return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not security


def call_limited(gateway: Gateway, fn: Callable[[], T], *, sleep=time.sleep) -> T:
    """Run one gateway call under the gateway's limits, retrying 429 answers with backoff.
    After ``MAX_RATE_LIMITED_TRIES`` the ``GatewayRateLimited`` propagates (nothing charged)."""
    limit = _limit_for(gateway)
    tries = 0
    while True:
        limit.take_token()
        with limit.semaphore:
            try:
                return fn()
            except GatewayRateLimited:
                tries += 1
                if tries >= MAX_RATE_LIMITED_TRIES:
                    raise
        sleep(backoff_delay(tries))
