"""Authenticated API throughput: `GET /api/workflows` with a live key (key
lookup, per-IP and per-key burst counters, monthly quota counter, one page
of workflows), as a ratio of the trivial-view baseline.

Uses the database the console uses (DATABASE_URL, else var/levqor.sqlite3),
migrated if needed, with a "Bench Ltd" account on the Business plan (so the
monthly quota never runs out) and a fresh key; earlier bench keys are
revoked. The burst limits are lifted for the run: the figure measures the
work of a metered call, not the limiter refusing it.
"""

import subprocess
import sys

from bench import lib

SETUP = """
from levqor.accounts.models import Account
from levqor.accounts.services import account_create
from levqor.api import services as keys
from levqor.api.models import ApiKey
from levqor.workflows import services as workflows

account = Account.objects.filter(name="Bench Ltd").first() or account_create(
    name="Bench Ltd", plan="business", owner_email="bench@levqor.local", billing_state="active", actor=None
)
for old in ApiKey.objects.filter(account=account, name="bench", revoked_at__isnull=True):
    keys.api_key_revoke(key=old, actor=None)
from levqor.workflows.selectors import workflow_list
for n in range(workflow_list(account=account, sandbox=False).count(), 20):
    workflows.workflow_create(
        account=account, sandbox=False, name=f"Bench workflow {n}", actor=None,
        steps=[{"type": "transform", "name": "echo", "set": {"out": "{{text}}"}}],
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
    )
print(keys.api_key_create(account=account, name="bench", mode="live", actor=None).secret)
"""

LIMITS = {"LEVQOR_API_BURST_PER_KEY": "1000000000", "LEVQOR_API_BURST_PER_IP": "1000000000"}


def _manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=lib.ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"bench_api: manage.py {args[0]} failed:\n{done.stderr}")
    return done.stdout


def run(ctx) -> bool:
    import os

    env = {**os.environ, **lib.BENCH_ENV}
    _manage("migrate", "--noinput", env=env)
    secret = _manage("shell", "-c", SETUP, env=env).strip().splitlines()[-1]
    with lib.gunicorn(workers=ctx.workers, env=LIMITS) as port:
        headers = {"X-Api-Key": secret}
        lib.hammer(port, "/api/workflows", seconds=1.0, clients=ctx.clients, headers=headers)  # warm-up
        load = lib.hammer(port, "/api/workflows", seconds=ctx.seconds, clients=ctx.clients, headers=headers)
    print(
        f"api       authenticated GET /api/workflows (20 workflows, live key, quota + burst counters): "
        f"{load.rps:,.0f} req/s = {ctx.ratio(load.rps)}, p50 {load.percentile(0.5):.1f} ms, "
        f"p99 {load.percentile(0.99):.1f} ms, {load.failed} failed"
    )
    return bool(load.failed)
