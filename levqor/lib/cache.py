"""Django's Redis cache backend, keeping one Redis client per pool.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` around
the connection pool for every cache call, and redis-py's constructor sets up
some 170 response callbacks each time: a measurable share of a cached page.
One client per pool is enough (the pool hands each command a connection,
and checks the process id, so it is safe across threads and forks).
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


def clear_own_keys(backend) -> None:
    """Empty `backend` of its own keys only. `clear()` on Redis empties the
    whole database, taking the keys of every other process that shares it
    under another KEY_PREFIX (parallel test workers, several runs) with it."""
    if not isinstance(backend, django_redis.RedisCache):
        backend.clear()
        return
    client = backend._cache.get_client(write=True)
    batch = []
    for key in client.scan_iter(match=f"{backend.key_prefix}:*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)
