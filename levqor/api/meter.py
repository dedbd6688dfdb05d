"""The metered API call on Redis: one round trip, no database.

With `REDIS_URL` every process shares the cache, so a call is decided there,
by one Lua script (`auth_round_trip`) sent before the key is known:

1. the caller IP's burst window (refused: nothing else happens);
2. the cached key (`keycache`: its entry and generation);
3. when that entry is current and the key usable, and the view meters its
   calls the plain way (`metered` below), the call itself: the key's burst
   window, then (if allowed) the account's monthly counter and the key's
   daily counter, and whether this call writes the monthly counter through
   to the database (when the last write is older than
   `LEVQOR_API_QUOTA_FLUSH_SECONDS`).

A key not cached yet, or a call that must not be metered before the
permission check, is metered afterwards by the throttle (`meter_round_trip`,
the same step 3 alone): a second round trip.

The monthly counter `api:quota:<account>:<mode>:<YYYYMM>` is the count while
Redis holds it; the database row (`ApiUsage`) is its durable copy, written
with `GREATEST(stored, counter)` (so writes in any order, by any process,
repeated or not, never lower it or count a call twice). When the counter is
missing (the month's first call, or Redis lost its data) the script counts
nothing and says so; the caller reads the row and calls again with it as
the starting count. Counters changed since the last sweep are kept in a set
the minute job `levqor:api.quota_flush` writes out (`dirty_take`), so an
account that stops calling is on disk within a minute.
"""

import itertools
import os
import threading

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import default_key_func
from django.core.signals import setting_changed
from redis.exceptions import NoScriptError

from levqor.lib import redisline

# The sliding-window log of levqor.lib.window: returns count (this call
# included), allowed (1/0), the oldest logged score (a string).
_WINDOW_FN = """
local function window_hit(log, now, window, limit, member)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  local n = redis.call('ZCARD', log)
  local allowed = 0
  if n < limit then
    redis.call('ZADD', log, now, member)
    redis.call('EXPIRE', log, math.ceil(window) + 1)
    allowed = 1
  end
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  return n + 1, allowed, oldest[2] or tostring(now)
end
"""

# Step 3. `p` is the cache's key prefix ("levqor:1:"); `a` the arguments.
# Returns {burst count, allowed, oldest, quota count (-1: the counter is
# missing, nothing was counted), write through now (1/0)}.
_METER_FN = """
local function meter(p, key_id, counter, a)
  local log = p .. 'api:burst:key:' .. key_id
  local quota = p .. 'api:quota:' .. counter
  local now, window, limit = tonumber(a.now), tonumber(a.window), tonumber(a.limit)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  local n = redis.call('ZCARD', log)
  if n >= limit then
    local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
    return {n + 1, 0, oldest[2] or a.now, tonumber(redis.call('GET', quota) or '-1'), 0}
  end
  if a.start ~= '' then
    redis.call('SET', quota, a.start, 'NX', 'EX', a.quota_ttl)
  elseif redis.call('EXISTS', quota) == 0 then
    return {n + 1, 1, a.now, -1, 0}
  end
  -- window_hit's second half: the log was trimmed and counted just above
  -- (a script runs alone, so nothing changed it since).
  redis.call('ZADD', log, now, a.member)
  redis.call('EXPIRE', log, math.ceil(window) + 1)
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')[2]
  local calls = redis.call('INCR', quota)
  local daily = p .. 'api:usage:key:' .. key_id .. ':' .. a.day
  if redis.call('INCR', daily) == 1 then
    redis.call('EXPIRE', daily, a.daily_ttl)
  end
  redis.call('SADD', p .. 'api:quota:dirty', counter)
  local flush = 0
  local mark = p .. 'api:quota:flushed:' .. counter
  if tonumber(a.flush_ms) <= 0 or redis.call('SET', mark, '1', 'NX', 'PX', a.flush_ms) then
    flush = 1
  end
  return {n + 1, 1, oldest, calls, flush}
end
local function args(from)
  return {now = ARGV[from], window = ARGV[from + 1], limit = ARGV[from + 2], member = ARGV[from + 3],
          month = ARGV[from + 4], day = ARGV[from + 5], daily_ttl = ARGV[from + 6], flush_ms = ARGV[from + 7],
          quota_ttl = ARGV[from + 8], start = ARGV[from + 9]}
end
"""

# The throttle's round trip. ARGV: p, key id, account id, mode, then args(5).
_METER = (
    _WINDOW_FN
    + _METER_FN
    + """
local a = args(5)
return meter(ARGV[1], ARGV[2], ARGV[3] .. ':' .. ARGV[4] .. ':' .. a.month, a)
"""
)

# The call's round trip. KEYS: 1 the IP's log, 2 the key's entry, 3 its
# generation, 4 its meta ("stamp key_id account_id mode usable_until").
# ARGV: 1 IP limit, 2 meter here (1/0), 3 p, 4 ip member, then args(5)
# (limit = the key's burst limit), 15-16 a view's shared copy and its
# generation to read along once metered ("{account}" and "{sandbox}" filled
# in from the key; "" for none). Returns {ip count, ip allowed, ip oldest,
# entry, generation, step 3's answer or false, {copy, generation} or false}.
_AUTH = (
    _WINDOW_FN
    + _METER_FN
    + """
local a = args(5)
local n, allowed, oldest = window_hit(KEYS[1], tonumber(a.now), tonumber(a.window), tonumber(ARGV[1]), ARGV[4])
if allowed == 0 then
  return {n, 0, oldest, false, false, false, false}
end
local entry = redis.call('GET', KEYS[2])
local generation = redis.call('GET', KEYS[3]) or '0'
local metered = false
local prefetched = false
if ARGV[2] == '1' and entry then
  local meta = redis.call('GET', KEYS[4])
  if meta then
    local stamp, key_id, account_id, mode, usable_until = string.match(meta, '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
    if stamp == generation and tonumber(a.now) < tonumber(usable_until) then
      metered = meter(ARGV[3], key_id, account_id .. ':' .. mode .. ':' .. a.month, a)
      if ARGV[15] ~= '' then
        local sandbox = (mode == 'test') and '1' or '0'
        local names = {}
        for i = 15, 16 do
          local name = string.gsub(string.gsub(ARGV[i], '{account}', account_id), '{sandbox}', sandbox)
          names[#names + 1] = name
        end
        prefetched = {redis.call('GET', names[1]) or false, redis.call('GET', names[2]) or false}
      end
    end
  end
end
return {n, 1, oldest, entry or false, generation, metered, prefetched}
"""
)

# A key's cached entry, generation and meta (`keycache`), by its secret hash.
KEY_NAMES = ("api:key:{}", "api:keygen:{}", "api:keymeta:{}")
QUOTA_TTL = 62 * 86_400  # a month's counter outlives its month (GET /api/usage reads it)
DAILY_TTL = 40 * 86_400  # as levqor.api.usage
DIRTY = "api:quota:dirty"
PREFETCHED_ATTR = "levqor_api_prefetched"  # on the request: a view's shared copy read along (view.prefetch)
METERED_ATTR = "levqor_api_metered"  # on the request: (time, step 3's answer) when taken in the call's round trip

_shas: dict[str, str] = {}


def enabled() -> bool:
    """True when the default cache is Redis (shared by every process)."""
    return line() is not None


def _redis():
    backend = caches["default"]
    return backend, backend._cache.get_client(write=True)  # Django's RedisCache exposes no scripting


def _run(client, source: str, keys: list[str], args: list):
    """EVALSHA, loading the script once if Redis does not have it (redis-py's
    Script objects check with SCRIPT EXISTS inside pipelines: a round trip)."""
    sha = _shas.get(source)
    if sha is not None:
        try:
            return client.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            pass
    _shas[source] = client.script_load(source)
    return client.evalsha(_shas[source], len(keys), *keys, *args)


def full_key(name: str) -> str:
    return caches["default"].make_key(name)


def _pool_of(backend):
    return lambda: backend._cache.get_client(write=True).connection_pool


_redis_cache_class: list = []  # Django's RedisCache, imported on first use
# What `line()` found in this thread, with the CACHES generation and forks
# it was found under: the cache handler's per-thread look-up is most of the
# call otherwise. CACHES changes only in tests (Django's setting_changed).
_found = threading.local()
_caches_generation = [0]


def _caches_changed(*, setting, **kwargs):
    if setting == "CACHES":
        _caches_generation[0] += 1


setting_changed.connect(_caches_changed)


def line() -> redisline.Line | None:
    """This thread's own connection to the default cache's Redis
    (`levqor.lib.redisline`), or None when the default cache is not Redis
    (`enabled()` in the same look-up)."""
    found = _found.__dict__.get("line")
    if found is not None and found[0] == _caches_generation[0] and found[1] == redisline.forks[0]:
        return found[2]
    if not _redis_cache_class:
        from django.core.cache.backends.redis import RedisCache  # noqa: PLC0415 - Django's, cheap

        _redis_cache_class.append(RedisCache)
    backend = caches["default"]
    current = redisline.thread_line(backend, _pool_of(backend)) if isinstance(backend, _redis_cache_class[0]) else None
    _found.line = (_caches_generation[0], redisline.forks[0], current)
    return current


def _key_func(backend):
    """`full_key` for `backend`: the prefix joined once under Django's own
    key function (each look-up of the cache handler costs more than the
    join)."""
    join = backend.__dict__.get("_levqor_join")
    if join is None:
        join = backend.make_key if backend.key_func is not default_key_func else backend.make_key("").__add__
        backend._levqor_join = join
    return join


_calls = itertools.count()
_process = [-1, ""]  # (forks, a random token of this process)


def _member(now: float) -> str:
    """A member no other call logs in the same window: the time, a token
    random per process (several hosts share Redis) and this process's call
    number, without a system call per call."""
    if _process[0] != redisline.forks[0]:
        _process[:] = [redisline.forks[0], os.urandom(6).hex()]
    return f"{now!r}:{_process[1]}:{next(_calls)}"


def _args(*, now: float, limit: int, month: str, day: str, start: str = "", member: str | None = None) -> list:
    flush_ms = int(settings.LEVQOR_API_QUOTA_FLUSH_SECONDS * 1000)
    window = settings.LEVQOR_API_BURST_WINDOW
    member = member or _member(now)
    return [repr(now), window, limit, member, month, day, DAILY_TTL, flush_ms, QUOTA_TTL, start]


def _meter_answer(raw) -> tuple[int, bool, float, int, bool] | None:
    if not raw:
        return None
    count, allowed, oldest, calls, flush = raw
    return int(count), bool(allowed), float(oldest), int(calls), bool(flush)


def auth_round_trip(
    *,
    ip: str,
    ip_limit: int,
    now: float,
    hashed: str | None,
    meter_args: dict | None,
    prefetch: tuple[str, str] | None = None,
    current: redisline.Line | None = None,
):
    """The call's one round trip (see the module doc). `hashed`: the key's
    secret hash (its entry, generation and meta are read: `KEY_NAMES`), None
    for a malformed or missing key; `meter_args` (key burst limit, month,
    day) when this call may be metered here; `prefetch`: a view's (copy,
    generation) key templates to read along; `current`: the thread's line
    when the caller has it already (`line()`). Returns ((ip count, allowed,
    oldest), entry, generation, step 3's answer or None, (copy, generation)
    raw or None)."""
    current = current or line()
    key = _key_func(current.owner)
    meter_here = bool(hashed and meter_args)
    no_meter = {"limit": 0, "month": "", "day": ""}
    member = _member(now)  # the IP's and the key's logs are apart: one member serves both
    args = [ip_limit, int(meter_here), key(""), member, *_args(now=now, member=member, **(meter_args or no_meter))]
    args += list(prefetch) if (meter_here and prefetch) else ["", ""]
    raw = current.run(_AUTH, _names(key, ip, hashed), args)
    count, allowed, oldest, entry, generation, metered, prefetched = raw
    ip = (int(count), bool(allowed), float(oldest))
    metered = _meter_answer(metered) if meter_here else None
    return ip, (entry or None), generation, metered, (tuple(v or None for v in prefetched) if prefetched else None)


_named: dict = {}


def _names(key, ip: str, hashed: str | None) -> list[str]:
    """The round trip's KEYS (the IP's log, the key's entry, generation and
    meta), remembered per process by what they are made of (a client polls
    with the same key from the same address)."""
    seen = (key, ip, hashed)
    names = _named.get(seen)
    if names is None:
        keys = [key(template.format(hashed)) for template in KEY_NAMES] if hashed else ["", "", ""]
        names = [key(f"api:burst:ip:{ip}"), *keys]
        if len(_named) > 1000:
            _named.clear()
        _named[seen] = names
    return names


def meter_round_trip(
    *, key_id: int, account_id: int, mode: str, month: str, day: str, limit: int, now: float, start=""
):
    """Step 3 alone: returns (burst count, allowed, oldest, quota count or -1, write through)."""
    _backend, client = _redis()
    args = [full_key(""), key_id, account_id, mode, *_args(now=now, limit=limit, month=month, day=day, start=start)]
    return _meter_answer(_run(client, _METER, [], args))


def counter_get(*, account_id: int, mode: str, month: str) -> int | None:
    """The month's count in Redis, or None when Redis does not hold it."""
    _backend, client = _redis()
    value = client.get(full_key(f"api:quota:{account_id}:{mode}:{month}"))
    return None if value is None else int(value)


def dirty_take(batch: int = 500) -> list[tuple[str, int]]:
    """Up to `batch` counters changed since the last sweep: [(member, count)].
    Taken out of the set; a call meanwhile adds its counter back."""
    _backend, client = _redis()
    members = client.spop(full_key(DIRTY), batch) or []
    members = [m.decode() if isinstance(m, bytes) else m for m in members]
    if not members:
        return []
    values = client.mget([full_key(f"api:quota:{m}") for m in members])
    return [(m, int(v)) for m, v in zip(members, values, strict=True) if v is not None]
