"""django-q2 entry points of the API app: thin, call services."""

from . import quotas


def quota_flush() -> int:
    """Every minute (with Redis): write the monthly counters changed since
    the last run to the database."""
    return quotas.quota_flush()
