"""What needs a person today: counts per queue for the admin index.

Each app registers its queues from `AppConfig.ready()`:

    attention.register(
        "Dunning cases awaiting payment",
        count=selectors.open_case_count,
        url_name="admin:billing_dunningcase_changelist",
        query="status__exact=pending",
    )
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Queue:
    label: str
    count: Callable[[], int]
    url_name: str
    query: str = ""


@dataclass(frozen=True)
class QueueCount:
    label: str
    count: int | None  # None: counting failed (the index says so instead of breaking)
    url: str


_queues: dict[str, Queue] = {}


def register(label: str, *, count: Callable[[], int], url_name: str, query: str = "") -> None:
    """Register (or replace, by label) a queue shown on the admin index."""
    _queues[label] = Queue(label=label, count=count, url_name=url_name, query=query)


def unregister(label: str) -> None:
    _queues.pop(label, None)


def queue_counts() -> list[QueueCount]:
    """Every registered queue with its count and changelist link. One queue
    whose count raises (a missing table, a slow query killed) is shown as
    uncounted and logged: it must not take the whole index down."""
    counts = []
    for queue in _queues.values():
        try:
            url = reverse(queue.url_name)
        except NoReverseMatch:
            logger.error("needs-attention queue %r links to unknown admin URL %r", queue.label, queue.url_name)
            url = ""
        if url and queue.query:
            url = f"{url}?{queue.query}"
        try:
            count = int(queue.count())
        except Exception:
            logger.exception("needs-attention queue %r could not be counted", queue.label)
            count = None
        counts.append(QueueCount(label=queue.label, count=count, url=url))
    return counts


def total(counts: list[QueueCount]) -> int:
    return sum(queue.count or 0 for queue in counts)


@dataclass(frozen=True)
class Dashboard:
    label: str
    url_name: str
    description: str = ""


_dashboards: dict[str, Dashboard] = {}


def register_dashboard(label: str, *, url_name: str, description: str = "") -> None:
    """Register (or replace, by label) a page staff read rather than work
    through: the admin index lists it as a link, never with a count."""
    _dashboards[label] = Dashboard(label=label, url_name=url_name, description=description)


def dashboards() -> list[dict]:
    """Every registered dashboard as {label, url, description}; one whose URL is unknown is left out."""
    links = []
    for board in _dashboards.values():
        try:
            links.append({"label": board.label, "url": reverse(board.url_name), "description": board.description})
        except NoReverseMatch:
            logger.error("dashboard %r links to unknown URL %r", board.label, board.url_name)
    return links
