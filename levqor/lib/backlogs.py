"""Backlog counts for the app metrics (GET /api/metrics/app and /metrics).

The core cannot import the domain apps, so each app registers its own
figures from `AppConfig.ready()`, as it does for the admin's needs-attention
queues (levqor/lib/attention.py):

    backlogs.register("dunning_due", count=selectors.case_due_today_count,
                      description="Dunning cases whose next reminder is due by the end of today")

Names are lower-case snake_case: they become JSON keys and a Prometheus label.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Backlog:
    name: str
    count: Callable[[], int]
    description: str


_backlogs: dict[str, Backlog] = {}


def register(name: str, *, count: Callable[[], int], description: str) -> None:
    """Register (or replace, by name) one backlog figure."""
    if not _NAME.match(name):
        raise ValueError(f"Backlog name {name!r} must be lower-case snake_case.")
    _backlogs[name] = Backlog(name=name, count=count, description=description)


def unregister(name: str) -> None:
    _backlogs.pop(name, None)


def registered() -> list[Backlog]:
    return sorted(_backlogs.values(), key=lambda backlog: backlog.name)


def backlog_counts() -> dict[str, int | None]:
    """Every registered figure by name; None where counting failed (logged),
    so one broken count cannot take the metrics down."""
    counts: dict[str, int | None] = {}
    for backlog in registered():
        try:
            counts[backlog.name] = int(backlog.count())
        except Exception:
            logger.exception("backlog %r could not be counted", backlog.name)
            counts[backlog.name] = None
    return counts
