"""Status test fixtures."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Receiver:
    """A webhook endpoint on 127.0.0.1: records each POST (headers, raw body)
    and answers with the next status in `answers` (then 200)."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        self.always: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers), body))
                code = receiver.always or (receiver.answers.pop(0) if receiver.answers else 200)
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/status"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
