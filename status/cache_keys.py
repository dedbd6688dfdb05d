"""Cache keys the status app reads through, and their invalidation.

The cache only ever holds copies of what is stored in the database, for a
few seconds; losing it (or a Redis outage) costs a database read, nothing else.

Rendered documents (the /status page, the v2 JSON) are kept under their
name with the *generation* they were built from. Every change that can
alter them (new probe results, a heartbeat, an incident, maintenance or
component change) moves the generation on, so the next read sees its copy
is outdated and builds a new one: a change shows at once in the process
that made it and within a second in every other process that shares the
cache (Redis). A copy built from data read before a change carries the old
generation, so it can never outlive the change. They also expire after LEVQOR_STATUS_PAGE_CACHE_SECONDS,
for what changes with the clock alone (staleness, the day's bar).
"""

import logging
import time
import uuid

from django.core.cache import cache

logger = logging.getLogger(__name__)

HEALTH_ROWS = "status:health:rows"  # the evaluation's inputs (health, banners), LEVQOR_STATUS_HEALTH_CACHE_SECONDS
HEALTH_LAST = "status:health:last"  # last good copy, served when the database is slow
LAST_GOOD_SECONDS = 24 * 3600

# Monitors poll the health endpoint hard: each process keeps the rendered
# document for up to a second (never longer than the shared cache would), so
# most requests cost a dictionary lookup. Forgotten whenever new results are
# stored. {media type: (monotonic expiry, HTTP status, body)}
RENDERED: dict[str, tuple[float, int, bytes]] = {}


GENERATION = "status:generation"
DOCUMENT = "status:doc:{}"
# {name: (generation, document, expiry as a Unix time, trusted until (monotonic))}:
# this process's copies.
_LOCAL: dict[str, tuple[str, object, float, float]] = {}
LOCAL_TRUST_SECONDS = 1.0


def _new_generation() -> str:
    generation = uuid.uuid4().hex
    cache.set(GENERATION, generation, None)
    return generation


def document_get(name: str):
    """(generation, the current copy of `name` or None). Never raises: a
    cache outage reads as a miss with no generation.

    Each process also keeps the copies it last saw. Within a second of
    checking one it serves it without asking the cache (as the health
    endpoint does: the process that made a change forgets at once, any
    other within that second); after that a read costs one small GET of
    the generation, and only a new generation fetches the document."""
    now = time.monotonic()
    local = _LOCAL.get(name)
    if local is not None and local[3] > now and local[2] > time.time():
        return local[0], local[1]
    try:
        generation = cache.get(GENERATION)
        if generation is None:
            return None, None
        if local is not None and local[0] == generation and local[2] > time.time():
            _LOCAL[name] = (*local[:3], now + LOCAL_TRUST_SECONDS)
            return generation, local[1]
        entry = cache.get(DOCUMENT.format(name))
    except Exception:
        logger.warning("status: cache read failed", exc_info=True)
        return None, None
    if entry is not None and entry[0] == generation:
        _LOCAL[name] = (*entry, now + LOCAL_TRUST_SECONDS)
        return generation, entry[1]
    return generation, None


def document_last(name: str):
    """This process's last copy of `name`, however old or of whichever
    generation, or None if it has none: what a visitor is shown while
    another thread of the process renders the next copy (`page_cache`)."""
    local = _LOCAL.get(name)
    return None if local is None else local[1]


def document_set(name: str, generation: str | None, value, seconds: int) -> None:
    """Keep `value`, built from the data of `generation` (as returned by
    `document_get` before the data was read)."""
    if seconds <= 0:
        return
    try:
        if generation is None:
            # First use, or the cache lost it: start one that no copy has,
            # unless a change started one meanwhile (our data may predate it).
            generation = uuid.uuid4().hex
            if not cache.add(GENERATION, generation, None):
                return
        entry = (generation, value, time.time() + seconds)
        cache.set(DOCUMENT.format(name), entry, seconds)
        _LOCAL[name] = (*entry, time.monotonic() + LOCAL_TRUST_SECONDS)
    except Exception:
        logger.warning("status: cache write failed", exc_info=True)


def forget_local() -> None:
    """Drop this process's copies (tests: the shared cache was emptied)."""
    RENDERED.clear()
    _LOCAL.clear()


def _forget() -> None:
    forget_local()
    try:
        cache.delete(HEALTH_ROWS)
        _new_generation()
    except Exception:  # noqa: S110 - a cache outage must not fail the write that called us
        pass


def forget_results() -> None:
    """After new probe results: the next health read goes to the database,
    and every rendered document is rebuilt."""
    _forget()


def forget_incidents() -> None:
    """After an incident, maintenance or component change: banners, health
    and every rendered document re-read."""
    _forget()
