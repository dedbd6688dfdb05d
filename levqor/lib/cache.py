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


# --- Generation-stamped entries (shared Redis only) ------------------------------------
#
# A copy of database rows is kept beside a *generation*: an integer with no
# expiry that every change to those rows moves on (`stamps_bump`, at once and
# again after the change commits). A reader gets both in one round trip
# (`stamped_get`) and trusts the copy only when its stamp is the current
# generation; it stores a copy it built (`stamped_put`) under the generation
# it read *before* reading the rows, so a copy of rows read before a change
# is outdated by that change whenever it lands. Only meaningful on a cache
# every process shares: with any other backend these read nothing and store
# nothing, and callers read the database.


def shared_redis():
    """The default cache's Redis client when the default cache is Redis."""
    from django.core.cache import caches  # noqa: PLC0415 - the floor keeps imports light

    backend = caches["default"]
    if not isinstance(backend, django_redis.RedisCache):
        return None
    return backend._cache.get_client(write=True)


def full_key(name: str) -> str:
    from django.core.cache import caches  # noqa: PLC0415

    return caches["default"].make_key(name)


def stamped_get(name: str, generation: str):
    """(the copy of `name` if current else None, the generation read)."""
    client = shared_redis()
    if client is None:
        return None, None
    pipe = client.pipeline(transaction=False)
    pipe.get(full_key(name))
    pipe.get(full_key(generation))
    return stamped_decode(*pipe.execute())


def stamped_decode(raw, raw_generation):
    """`stamped_get`'s answer from the two raw values (read by someone else,
    e.g. in a script's round trip)."""
    import pickle  # noqa: PLC0415

    stamp = int(raw_generation or 0)
    if raw is None:
        return None, stamp
    try:
        entry_stamp, value = pickle.loads(raw)  # noqa: S301 - written by stamped_put
    except Exception:
        return None, stamp
    return (value if entry_stamp == stamp else None), stamp


def stamped_put(name: str, stamp: int | None, value, seconds: int) -> None:
    import pickle  # noqa: PLC0415

    client = shared_redis()
    if client is None or stamp is None:
        return
    client.set(full_key(name), pickle.dumps((stamp, value), pickle.HIGHEST_PROTOCOL), ex=seconds)


def stamps_bump(*generations: str) -> None:
    """Outdate every copy stamped with these generations: now, and again
    once the current transaction commits (a reader may have read the rows
    between the two)."""
    from django.db import transaction  # noqa: PLC0415

    if shared_redis() is None or not generations:
        return
    names = [full_key(g) for g in generations]

    def bump():
        pipe = shared_redis().pipeline(transaction=False)
        for name in names:
            pipe.incr(name)
        pipe.execute()

    bump()
    transaction.on_commit(bump)
