"""The hot paths, each as a ratio of the bare-Django ceiling measured in the
same run (issue 18's table): both served by gunicorn with the same settings,
loaded by wrk (2 threads × 32 connections) in alternating slices, so a busy
machine's changing load falls on all of them alike.

Uses the database and cache the console uses (DATABASE_URL, REDIS_URL: the
targets are for PostgreSQL + Redis), migrated and seeded with the demo world,
static files collected, fresh probe results (so nothing reads as stale) and
a live key of a "Bench Ltd" account on the Business plan (its monthly quota
never runs out). The burst limits are lifted for the run: the figure
measures the work of a metered call, not the limiter refusing it.
"""

import gzip
import http.client
import os
import subprocess
import sys
from dataclasses import dataclass

from bench import lib

SETUP = """
from levqor.accounts.models import Account
from levqor.accounts.services import account_create
from levqor.api import services as keys
from levqor.api.models import ApiKey
from levqor.workflows import services as workflows
from levqor.workflows.selectors import workflow_list
from status import services as status

account = Account.objects.filter(name="Bench Ltd").first() or account_create(
    name="Bench Ltd", plan="business", owner_email="bench@levqor.local", billing_state="active", actor=None
)
for old in ApiKey.objects.filter(account=account, name="bench", revoked_at__isnull=True):
    keys.api_key_revoke(key=old, actor=None)
for n in range(workflow_list(account=account, sandbox=False).count(), 20):
    workflows.workflow_create(
        account=account, sandbox=False, name=f"Bench workflow {n}", actor=None,
        steps=[{"type": "transform", "name": "echo", "set": {"out": "{{text}}"}}],
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
    )
print(keys.api_key_create(account=account, name="bench", mode="live", actor=None).secret)
"""

# Fresh results, probing the web component through the server under test.
PROBE = "from status import services; services.heartbeat_beat(); services.snapshot_take()"

LIMITS = {"LEVQOR_API_BURST_PER_KEY": "1000000000", "LEVQOR_API_BURST_PER_IP": "1000000000"}
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@dataclass
class Path:
    label: str
    path: str
    target: float  # at least this ratio of the ceiling
    headers: dict | None = None


PATHS = [
    Path("/-/ping (the middleware stack)", "/-/ping", 0.9),
    Path("/api/status/health", "/api/status/health", 0.8),
    Path("/api/v2/summary.json", "/api/v2/summary.json", 0.7),
    Path("/status (anonymous, gzip)", "/status", 0.5, GZIP),
    Path("GET /api/workflows (live key)", "/api/workflows", 0.5),
]
MAX_STATUS_BYTES = 100_000


def _manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=lib.ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"bench: manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare(env: dict) -> str:
    """Migrate, collect static files, seed; returns a fresh live API key."""
    _manage("migrate", "--noinput", env=env)
    _manage("collectstatic", "--noinput", env=env)
    _manage("seed_demo", env={**env, "DEBUG": "true"})  # as `make run` seeds: the demo admin password
    return _manage("shell", "-c", SETUP, env=env).strip().splitlines()[-1]


def _wire_bytes(port: int, path: str, headers: dict) -> tuple[int, int]:
    """(bytes on the wire, bytes of HTML) of one answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    html = gzip.decompress(body) if response.getheader("Content-Encoding") == "gzip" else body
    return len(body), len(html)


def run(ctx) -> bool:
    """Print the table; True when a figure misses its target."""
    env = {**os.environ, **lib.BENCH_ENV}
    key = prepare(env)
    (lib.ROOT / "bench" / "results" / "key.txt").write_text(key + "\n")  # for bench/profile_paths.py
    paths = [p if p.path != "/api/workflows" else Path(p.label, p.path, p.target, {"X-Api-Key": key}) for p in PATHS]
    slices: dict[str, list] = {"ceiling": [], **{p.path: [] for p in paths}}
    with (
        lib.gunicorn(workers=ctx.workers, app="bench.ceiling:application") as ceiling,
        lib.gunicorn(workers=ctx.workers, env=LIMITS) as port,
    ):
        _manage("shell", "-c", PROBE, env={**env, "LEVQOR_STATUS_PROBE_URL": f"http://127.0.0.1:{port}/-/ping"})
        for p in paths:  # warm every worker: imports, connections, caches
            lib.wrk(port, p.path, seconds=1, headers=p.headers)
        lib.wrk(ceiling, "/ceiling", seconds=1)
        for _ in range(ctx.rounds):
            slices["ceiling"].append(lib.wrk(ceiling, "/ceiling", seconds=ctx.seconds))
            for p in paths:
                slices[p.path].append(lib.wrk(port, p.path, seconds=ctx.seconds, headers=p.headers))
        wire, html = _wire_bytes(port, "/status", GZIP)
    ceiling_figure = lib.merge(slices["ceiling"])
    ctx.baseline_rps = ceiling_figure.rps
    stack = "PostgreSQL" if env.get("DATABASE_URL", "").startswith(("postgres", "pgsql")) else "SQLite"
    stack += " + Redis" if env.get("REDIS_URL") else " + local-memory cache"
    print(
        f"hot paths on {stack}; gunicorn {lib.serving(ctx.workers)} (gunicorn.conf.py); "
        f"{'wrk 2 threads × 32 connections' if lib.WRK else 'Python client, 32 threads (wrk not found)'}; "
        f"{ctx.rounds} alternating slices of {ctx.seconds:g} s each"
    )
    print(f"  {'path':<36} {'req/s':>8} {'ratio':>7} {'target':>7} {'p50 ms':>7} {'p99 ms':>7}  result")
    print(
        f"  {'ceiling: bare Django, small JSON':<36} {ceiling_figure.rps:>8,.0f} {'1.00':>7} {'':>7} "
        f"{ceiling_figure.p50:>7.1f} {ceiling_figure.p99:>7.1f}"
    )
    missed = bool(ceiling_figure.failed)
    for p in paths:
        figure = lib.merge(slices[p.path])
        ratio = figure.rps / ceiling_figure.rps if ceiling_figure.rps else 0.0
        ok = ratio >= p.target and not figure.failed
        missed |= not ok
        note = "ok" if ok else "MISSED"
        if figure.failed:
            note += f" ({figure.failed} failed)"
        print(
            f"  {p.label:<36} {figure.rps:>8,.0f} {ratio:>7.2f} {'≥ ' + format(p.target, '.1f'):>7} "
            f"{figure.p50:>7.1f} {figure.p99:>7.1f}  {note}"
        )
    size_ok = wire <= MAX_STATUS_BYTES
    missed |= not size_ok
    print(
        f"  /status on the wire: {wire / 1000:.0f} kB gzip ({html / 1000:.0f} kB of HTML), "
        f"target ≤ {MAX_STATUS_BYTES / 1000:.0f} kB: {'ok' if size_ok else 'MISSED'}"
    )
    return missed
