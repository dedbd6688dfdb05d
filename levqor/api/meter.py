"""The metered API call on Redis: two round trips, no database.

With `REDIS_URL` every process shares the cache, so a call is decided there:

1. **Before the key is known** (`auth_round_trip`): the caller IP's burst
   window, and the cached key (`keycache`) with its generation, pipelined.
2. **Once the key is known** (`meter_round_trip`): one Lua script takes the
   key's burst window, then (if allowed) adds the call to the account's
   monthly counter and the key's daily counter, and elects this call to
   write the monthly counter through to the database when the last write is
   older than `LEVQOR_API_QUOTA_FLUSH_SECONDS`.

The monthly counter `api:quota:<account>:<mode>:<YYYYMM>` is the count while
Redis holds it; the database row (`ApiUsage`) is its durable copy, written
with `GREATEST(stored, counter)` (so writes in any order, by any process,
repeated or not, never lower it or count a call twice). When the counter is
missing (the month's first call, or Redis lost its data) it starts from the
database row. Counters written since the last write-through are kept in a
set the minute job `levqor:api.quota_flush` writes out (`quota_flush`), so
an account that stops calling is on disk within a minute.
"""

import os

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import NoScriptError

# KEYS: 1 burst log, 2 quota counter, 3 daily counter (per key), 4 flush mark, 5 dirty set.
# ARGV: 1 now (s), 2 window (s), 3 limit, 4 unique member, 5 daily TTL (s), 6 flush interval (ms),
#       7 dirty member, 8 quota TTL (s), 9 starting count when the counter is missing ("" = ask).
# Returns {burst count incl. this call, allowed 1/0, oldest burst score (string), quota count
# (-1: missing, ask the database and call again with ARGV[9]), write-through now 1/0}.
_METER = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {n + 1, 0, oldest[2] or ARGV[1], tonumber(redis.call('GET', KEYS[2]) or '-1'), 0}
end
if ARGV[9] ~= '' then
  redis.call('SET', KEYS[2], ARGV[9], 'NX', 'EX', ARGV[8])
elseif redis.call('EXISTS', KEYS[2]) == 0 then
  return {n + 1, 1, ARGV[1], -1, 0}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local calls = redis.call('INCR', KEYS[2])
if redis.call('INCR', KEYS[3]) == 1 then
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
redis.call('SADD', KEYS[5], ARGV[7])
local flush = 0
if tonumber(ARGV[6]) <= 0 or redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[6]) then
  flush = 1
end
return {n + 1, 1, oldest[2] or ARGV[1], calls, flush}
"""

# The caller IP's window (the same sliding log as levqor.lib.window).
_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local allowed = 0
if n < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {n + 1, allowed, oldest[2] or ARGV[1]}
"""

DIRTY = "api:quota:dirty"
QUOTA_TTL = 62 * 86_400  # a month's counter outlives its month (GET /api/usage reads it)
DAILY_TTL = 40 * 86_400  # as levqor.api.usage

_scripts: dict[str, object] = {}


def enabled() -> bool:
    """True when the default cache is Redis (shared by every process)."""
    from django.core.cache.backends.redis import RedisCache  # noqa: PLC0415 - Django's, cheap

    return isinstance(caches["default"], RedisCache)


def _redis():
    backend = caches["default"]
    return backend, backend._cache.get_client(write=True)  # Django's RedisCache exposes no pipelines or scripts


def _script(client, name: str, source: str):
    script = _scripts.get(name)
    if script is None:
        script = _scripts[name] = client.register_script(source)
    return script


def full_key(name: str) -> str:
    return caches["default"].make_key(name)


def _member(now: float) -> str:
    return f"{now!r}:{os.urandom(6).hex()}"


def auth_round_trip(*, ip: str, limit: int, window: float, now: float, cache_keys: tuple[str, ...]):
    """One pipeline: the IP's burst window (count, allowed, oldest) and the
    raw values of `cache_keys` (full keys)."""
    _backend, client = _redis()
    script = _script(client, "window", _WINDOW)
    args = [repr(now), window, limit, _member(now)]

    def run():
        # EVALSHA by hand: redis-py checks a pipeline's scripts with SCRIPT
        # EXISTS first, an extra round trip on every call.
        pipe = client.pipeline(transaction=False)
        pipe.evalsha(script.sha, 1, full_key(f"api:burst:ip:{ip}"), *args)
        for key in cache_keys:
            pipe.get(key)
        return pipe.execute(raise_on_error=False)

    results = run()
    if isinstance(results[0], NoScriptError):  # Redis restarted without it: load it once
        client.script_load(_WINDOW)
        results = run()
    if isinstance(results[0], Exception):
        raise results[0]
    (count, allowed, oldest), *values = results
    return (int(count), bool(allowed), float(oldest)), values


def meter_round_trip(
    *, key_id: int, account_id: int, mode: str, month: str, day: str, limit: int, window: float, now: float, start=""
):
    """The key's burst window, then the call counted (see the module doc).
    Returns (burst count, allowed, oldest, quota count or -1, write through)."""
    _backend, client = _redis()
    script = _script(client, "meter", _METER)
    counter = f"{account_id}:{mode}:{month}"
    keys = [
        full_key(f"api:burst:key:{key_id}"),
        full_key(f"api:quota:{counter}"),
        full_key(f"api:usage:key:{key_id}:{day}"),
        full_key(f"api:quota:flushed:{counter}"),
        full_key(DIRTY),
    ]
    flush_ms = int(settings.LEVQOR_API_QUOTA_FLUSH_SECONDS * 1000)
    args = [repr(now), window, limit, _member(now), DAILY_TTL, flush_ms, counter, QUOTA_TTL, start]
    count, allowed, oldest, calls, flush = script(keys=keys, args=args, client=client)
    return int(count), bool(allowed), float(oldest), int(calls), bool(flush)


def counter_get(*, account_id: int, mode: str, month: str) -> int | None:
    """The month's count in Redis, or None when Redis does not hold it."""
    _backend, client = _redis()
    value = client.get(full_key(f"api:quota:{account_id}:{mode}:{month}"))
    return None if value is None else int(value)


def dirty_take(batch: int = 500) -> list[tuple[str, int]]:
    """Up to `batch` counters written since the last sweep: [(member, count)].
    Taken out of the set; a call meanwhile adds its counter back."""
    _backend, client = _redis()
    members = client.spop(full_key(DIRTY), batch) or []
    members = [m.decode() if isinstance(m, bytes) else m for m in members]
    if not members:
        return []
    values = client.mget([full_key(f"api:quota:{m}") for m in members])
    return [(m, int(v)) for m, v in zip(members, values, strict=True) if v is not None]
