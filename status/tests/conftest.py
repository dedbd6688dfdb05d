"""Status test fixtures."""

from datetime import UTC, datetime, timedelta

import pytest

from status import services
from status.models import Component

NOW = datetime(2026, 11, 20, 12, 2, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _forget_rendered_health():
    from status.cache_keys import RENDERED

    RENDERED.clear()
    yield
    RENDERED.clear()


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def components(db) -> dict[str, Component]:
    services.components_ensure()
    return {c.slug: c for c in Component.objects.all()}


@pytest.fixture
def stub_probes(monkeypatch):
    """Replace the live probes with fixed results (the outside world);
    returns the dict to change them per test."""
    from status import probes
    from status.models import State

    results = {
        probe: probes.Result(State.UP, latency, "")
        for probe, latency in (("web", 40), ("database", 3), ("cache", 1), ("workflows", 20))
    }
    for probe in list(results):
        monkeypatch.setitem(probes._PROBES, probe, lambda component, probe=probe: results[probe])
    return results


def take(at: datetime, **kwargs):
    return services.snapshot_take(now=at, **kwargs)


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


def attention_row(page: str, label: str) -> tuple[int, str]:
    """The count and link of one "needs attention" row on the admin index."""
    import html
    import re

    match = re.search(
        r'<a href="([^"]+)">' + re.escape(html.escape(label)) + r'</a></th>\s*<td class="count"><strong>(\d+)</strong>',
        page,
    )
    assert match, f"{label!r} is not on the admin index"
    return int(match.group(2)), html.unescape(match.group(1))
