"""Cache keys the status app reads through, and their invalidation.

The cache only ever holds copies of what is stored in the database, for a
few seconds; losing it (or a Redis outage) costs a database read, nothing else.
"""

from django.core.cache import cache

HEALTH_ROWS = "status:health:rows"  # the evaluation's inputs (health, banners), LEVQOR_STATUS_HEALTH_CACHE_SECONDS
HEALTH_LAST = "status:health:last"  # last good copy, served when the database is slow
LAST_GOOD_SECONDS = 24 * 3600


def forget_results() -> None:
    """After new probe results: the next health read goes to the database."""
    from .api import forget_rendered

    forget_rendered()
    try:
        cache.delete(HEALTH_ROWS)
    except Exception:  # noqa: S110 - a cache outage must not fail the write that called us
        pass


def forget_incidents() -> None:
    """After an incident or maintenance change: banners and health re-read."""
    from .api import forget_rendered

    forget_rendered()
    try:
        cache.delete(HEALTH_ROWS)
    except Exception:  # noqa: S110 - as above
        pass
