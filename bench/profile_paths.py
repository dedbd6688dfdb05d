"""Where a hot path's time goes: cProfile over N requests of each path,
in-process through Django's full request cycle (every middleware), against
the database and cache the console uses. Prints the top functions by own
time, and the queries and cache calls one request makes.

    .venv/bin/python bench/profile_paths.py [--requests 200] [--top 25] [path ...]

Run `make bench` (or bench/run.py) once first: it prepares the bench
account and key this reads from bench/results/key.txt.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hotpaths, lib  # noqa: E402

PATHS = ["/-/ping", "/api/status/health", "/api/v2/summary.json", "/status", "/api/workflows"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=PATHS)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ.update({**lib.BENCH_ENV, **hotpaths.LIMITS, "DJANGO_SETTINGS_MODULE": "levqor.settings"})
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key_file = ROOT / "bench" / "results" / "key.txt"
    key = key_file.read_text().strip() if key_file.exists() else ""
    handler = WSGIHandler()  # what gunicorn calls: no test-client signals in the figures

    def get(path: str) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT_ENCODING": "gzip",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        if key:
            environ["HTTP_X_API_KEY"] = key
        status = []
        body = b"".join(handler(environ, lambda s, h, exc_info=None: status.append(s)))
        return status[0], body

    for path in args.paths:
        get(path)  # warm: imports, connections, caches
        with CaptureQueriesContext(connection) as queries:
            status, body = get(path)
        print(f"\n=== {path}: {status}, {len(body):,} bytes, {len(queries)} queries")
        for query in queries.captured_queries:
            print(f"    {query['time']}s {query['sql'][:140]}")
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            get(path)
            samples.append(time.perf_counter() - started)
        median = sorted(samples)[len(samples) // 2] * 1000
        print(f"    {median:.2f} ms a request, median of {args.requests} (no profiler)")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            get(path)
        profile.disable()
        stats = pstats.Stats(profile)
        print(f"    {stats.total_tt / args.requests * 1000:.2f} ms a request (under the profiler)")
        stats.sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(args.top)


if __name__ == "__main__":
    main()
