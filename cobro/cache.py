"""Django's Redis cache backend, with one redis-py client per connection pool.

Django's ``RedisCacheClient`` makes a new ``redis.Redis`` for every cache operation, and
building one copies redis-py's table of response callbacks (about 170 entries): on a fast path
such as an API request (key stamp, rate limit) that cost more CPU than the commands. A
``redis.Redis`` is thread-safe (each command takes a connection from the pool) and its pool
resets itself in a forked child, so one per pool is enough.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    # -- for the few hot paths that talk to Redis directly (one round trip instead of several)
    def redis_client(self):
        """The redis-py client of the primary (writes go there)."""
        return self._cache.get_client(write=True)

    def redis_key(self, key: str) -> str:
        """``key`` as stored in Redis (prefix and version applied)."""
        return self.make_and_validate_key(key)

    def redis_value(self, value) -> bytes | int:
        """``value`` as this cache stores it (what a Redis GET returns for it)."""
        return self._cache._serializer.dumps(value)  # type: ignore[attr-defined]
