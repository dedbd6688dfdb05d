"""Cache keys the status app reads through, and their invalidation.

The cache only ever holds copies of what is stored in the database, for a
few seconds; losing it (or a Redis outage) costs a database read, nothing else.
"""

from django.core.cache import cache

HEALTH_ROWS = "status:health:rows"  # the evaluation's inputs (health, banners), LEVQOR_STATUS_HEALTH_CACHE_SECONDS
HEALTH_LAST = "status:health:last"  # last good copy, served when the database is slow
LAST_GOOD_SECONDS = 24 * 3600

# Monitors poll the health endpoint hard: each process keeps the rendered
# document for up to a second (never longer than the shared cache would), so
# most requests cost a dictionary lookup. Forgotten whenever new results are
# stored. {media type: (monotonic expiry, HTTP status, body)}
RENDERED: dict[str, tuple[float, int, bytes]] = {}


def forget_results() -> None:
    """After new probe results: the next health read goes to the database."""
    RENDERED.clear()
    try:
        cache.delete(HEALTH_ROWS)
    except Exception:  # noqa: S110 - a cache outage must not fail the write that called us
        pass


def forget_incidents() -> None:
    """After an incident or maintenance change: banners and health re-read."""
    RENDERED.clear()
    try:
        cache.delete(HEALTH_ROWS)
    except Exception:  # noqa: S110 - as above
        pass
