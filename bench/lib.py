"""Shared bench helpers: a gunicorn server on a free port and a loopback load
generator. Every figure is printed next to the trivial-view baseline measured
in the same run, under the same gunicorn settings, so ratios compare."""

import http.client
import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# How the project is served in production (worker class, threads): the
# ceiling and the project are both run with it, so ratios compare.
GUNICORN_CONF = ROOT / "gunicorn.conf.py"

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
    time, as each of Stripe's deliveries comes. `body_factory()` may return
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
def gunicorn(*, workers: int = 2, env: dict | None = None, app: str = "levqor.wsgi:application"):
    """Run the project (or `app`, e.g. the ceiling) under gunicorn with the
    project's gunicorn.conf.py on a free port; yields the port."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            app,
            "--config",
            str(GUNICORN_CONF),
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


def serving(workers: int) -> str:
    """How gunicorn() serves, in words: "2 gthread workers × 2 threads, 3
    connections each"."""
    conf = runpy.run_path(str(GUNICORN_CONF))
    kind = conf.get("worker_class", "sync")
    threads = conf.get("threads", 1)
    connections = conf.get("worker_connections")
    return (
        f"{workers} {kind} workers"
        + (f" × {threads} threads" if threads > 1 else "")
        + (f", {connections} connections each" if connections else "")
    )


WRK = shutil.which("wrk")
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Figure:
    """One wrk run: throughput and latency percentiles (ms)."""

    rps: float
    p50: float
    p99: float
    failed: int
    requests: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNIT[unit]


def wrk(
    port: int,
    path: str,
    *,
    seconds: float,
    threads: int = 2,
    connections: int = 32,
    headers=None,
    script: Path | None = None,
    script_args: tuple[str, ...] = (),
) -> Figure:
    """Load `path` with wrk (C, so the load generator takes little of the
    CPU the server needs); falls back to `hammer` where wrk is missing.
    `script`: a wrk Lua script making the requests (given `script_args`)."""
    if WRK is None:
        load = hammer(port, path, seconds=seconds, clients=connections, headers=headers)
        return Figure(load.rps, load.percentile(0.5), load.percentile(0.99), load.failed, load.ok + load.failed)
    args = [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    url = f"http://127.0.0.1:{port}{path}"
    out = subprocess.run(
        [*args, url, *(["--", *script_args] if script_args else [])], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    percentiles = dict(re.findall(r"^\s*(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", out, re.M))
    if set(percentiles) != {"50", "99"}:
        raise SystemExit(f"bench: could not read wrk's output for {path}:\n{out}")
    failed = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    failed += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return Figure(rps, _ms(percentiles["50"]), _ms(percentiles["99"]), failed, requests)


def merge(figures: list[Figure]) -> Figure:
    """Slices of one path taken in turns: total throughput, worst percentiles."""
    total = sum(f.requests for f in figures)
    return Figure(
        rps=sum(f.rps for f in figures) / len(figures),
        p50=sorted(f.p50 for f in figures)[len(figures) // 2],
        p99=max(f.p99 for f in figures),
        failed=sum(f.failed for f in figures),
        requests=total,
    )
