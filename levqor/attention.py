"""What needs a person today: counts per queue for the admin index.

Each app registers its queues from `AppConfig.ready()`:

    attention.register(
        "Dunning cases awaiting payment",
        count=selectors.open_case_count,
        url_name="admin:billing_dunningcase_changelist",
        query="status__exact=pending",
    )
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Queue:
    label: str
    count: Callable[[], int]
    url_name: str
    query: str = ""


@dataclass(frozen=True)
class QueueCount:
    label: str
    count: int
    url: str


_queues: dict[str, Queue] = {}


def register(label: str, *, count: Callable[[], int], url_name: str, query: str = "") -> None:
    """Register (or replace, by label) a queue shown on the admin index."""
    _queues[label] = Queue(label=label, count=count, url_name=url_name, query=query)


def unregister(label: str) -> None:
    _queues.pop(label, None)


def queue_counts() -> list[QueueCount]:
    counts = []
    for queue in _queues.values():
        try:
            url = reverse(queue.url_name)
        except NoReverseMatch:
            url = ""
        if url and queue.query:
            url = f"{url}?{queue.query}"
        counts.append(QueueCount(label=queue.label, count=queue.count(), url=url))
    return counts
