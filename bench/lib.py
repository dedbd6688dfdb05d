"""Shared bench helpers: a gunicorn server on a free port and a loopback load
generator. Every figure is printed next to the trivial-view baseline measured
in the same run, under the same gunicorn settings, so ratios compare."""

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BENCH_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LEVQOR_SSL_REDIRECT": "false",
    "LEVQOR_LOG_LEVEL": "WARNING",
    "PYTHONWARNINGS": "ignore::UserWarning",  # whitenoise: no collectstatic for a bench run
}


@dataclass
class Load:
    ok: int
    failed: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/-/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def hammer(
    port: int,
    path: str,
    *,
    seconds: float,
    clients: int,
    method: str = "GET",
    headers: dict | None = None,
    body_factory=None,
    ok_statuses: tuple[int, ...] = (200,),
) -> Load:
    """`clients` threads send requests for `seconds`; a new connection each
    time (gunicorn's sync workers close them). `body_factory()` may return
    (body, extra_headers) per request, e.g. a freshly signed webhook."""
    stop_at = time.monotonic() + seconds
    totals = {"ok": 0, "failed": 0}
    latencies: list[float] = []
    lock = threading.Lock()

    def client():
        mine_ok = mine_failed = 0
        mine_lat = []
        while time.monotonic() < stop_at:
            body, extra = body_factory() if body_factory else (None, {})
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(method, path, body=body, headers={**(headers or {}), **extra})
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status in ok_statuses:
                    mine_ok += 1
                else:
                    mine_failed += 1
            except OSError:
                mine_failed += 1
            mine_lat.append(time.perf_counter() - started)
        with lock:
            totals["ok"] += mine_ok
            totals["failed"] += mine_failed
            latencies.extend(mine_lat)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(ok=totals["ok"], failed=totals["failed"], seconds=seconds, latencies=latencies)


def baseline(port: int, *, seconds: float, clients: int) -> Load:
    """Requests per second of the trivial view: the unit every figure is given in."""
    hammer(port, "/-/ping", seconds=1.0, clients=clients)  # warm-up
    return hammer(port, "/-/ping", seconds=seconds, clients=clients)


@contextmanager
def gunicorn(*, workers: int = 2, env: dict | None = None):
    """Run the project under gunicorn on a free port; yields the port."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "levqor.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **BENCH_ENV, **(env or {})},
    )
    try:
        wait_until_up(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
