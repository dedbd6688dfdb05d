"""Levqor benchmarks: print the figures the README quotes.

For now one figure, the baseline every later figure is given against:
requests per second of a trivial view (`/-/ping`, no database, cache or
broker) under gunicorn, measured from a second process on loopback. Later
issues add their own figures and print them as a ratio of this baseline, so
the numbers stay comparable across machines.

    make bench            # or: .venv/bin/python bench/run.py --seconds 10
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def hammer(port: int, path: str, seconds: float, clients: int) -> tuple[int, int, list[float]]:
    stop_at = time.monotonic() + seconds
    ok, failed, latencies = [0], [0], []
    lock = threading.Lock()

    def client():
        mine_ok = mine_failed = 0
        mine_lat = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status == 200:
                    mine_ok += 1
                else:
                    mine_failed += 1
            except OSError:
                mine_failed += 1
            mine_lat.append(time.perf_counter() - started)
        with lock:
            ok[0] += mine_ok
            failed[0] += mine_failed
            latencies.extend(mine_lat)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ok[0], failed[0], latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LEVQOR_SSL_REDIRECT": "false",
        "LEVQOR_LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::UserWarning",  # whitenoise: no collectstatic for a bench run
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "levqor.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(port)
        hammer(port, "/-/ping", 1.0, args.clients)  # warm-up
        ok, failed, latencies = hammer(port, "/-/ping", args.seconds, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=10)

    latencies.sort()
    rps = ok / args.seconds
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0
    print(
        f"baseline  trivial view /-/ping under gunicorn ({args.workers} sync workers, "
        f"{args.clients} client threads, {args.seconds:g} s): {rps:,.0f} req/s, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {failed} failed"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "baseline.json").write_text(json.dumps({"rps": rps, "p50_ms": p50, "p99_ms": p99, "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
