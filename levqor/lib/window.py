"""A sliding-window limit: at most `limit` hits in ANY `window` seconds.

A fixed window (reset at multiples of its length) lets twice the limit
through around a boundary: `limit` hits at its end, `limit` more at the
start of the next. A sliding log keeps the time of each allowed hit and
counts those younger than `window`, so no stretch of `window` seconds ever
holds more than `limit`. Refused hits are not logged: a client that keeps
retrying gets in as soon as its oldest hit ages out (the `retry_after` we
return), not never.

On Redis (the production cache) the log is a sorted set updated by one Lua
script, so every process shares it and check-and-add is atomic: one round
trip a call. On any other cache (the embedded default's local memory, which
is per process anyway) the log is a list in the cache, read and written
under a process lock.
"""

import math
import os
import threading
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

# KEYS[1]: the log. ARGV: now (s), window (s), limit, a unique member.
# Returns {hits in the window including this one, this one allowed (1/0),
# score of the oldest logged hit as a string (Lua would truncate a number)}.
_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local allowed = 0
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {n + 1, allowed, oldest[2] or ARGV[1]}
"""

_lock = threading.Lock()
_script = None  # redis-py Script: EVALSHA, loading the script on NOSCRIPT


@dataclass(frozen=True)
class Hit:
    allowed: bool
    count: int  # hits in the window, this one included (refused: limit + 1)
    limit: int
    retry_after: int  # whole seconds until the oldest logged hit ages out (≥ 1)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


def retry_after(oldest: float, window: float, now: float) -> int:
    return max(1, math.ceil(oldest + window - now))


def _redis_hit(key: str, *, limit: int, window: float, now: float) -> Hit:
    global _script
    redis_cache = caches["default"]
    full_key = redis_cache.make_and_validate_key(key)
    client = redis_cache._cache.get_client(full_key, write=True)  # Django's RedisCache exposes no scripting
    if _script is None:
        _script = client.register_script(_LUA)
    member = f"{now!r}:{os.urandom(6).hex()}"
    count, allowed, oldest = _script(keys=[full_key], args=[repr(now), window, limit, member], client=client)
    count = int(count) if allowed else limit + 1
    return Hit(bool(allowed), count, limit, retry_after(float(oldest), window, now))


def _local_hit(key: str, *, limit: int, window: float, now: float) -> Hit:
    with _lock:
        log = [t for t in cache.get(key, ()) if t > now - window]
        allowed = len(log) < limit
        if allowed:
            log.append(now)
            cache.set(key, log, math.ceil(window) + 1)
    oldest = log[0] if log else now
    return Hit(allowed, len(log) if allowed else limit + 1, limit, retry_after(oldest, window, now))


def hit(key: str, *, limit: int, window: float, now: float) -> Hit:
    """Count one hit on `key` at `now` (seconds, from the caller's clock) if
    fewer than `limit` were allowed in the `window` seconds before it."""
    if isinstance(caches["default"], RedisCache):
        return _redis_hit(key, limit=limit, window=window, now=now)
    return _local_hit(key, limit=limit, window=window, now=now)
