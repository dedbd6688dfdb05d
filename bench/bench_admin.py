"""Admin at scale (PostgreSQL only): the audit trail changelist over
1,000,000 rows and the dunning cases changelist over 100,000 cases, each
opened as staff open it (signed in, default filters), median of 15 requests
through Django's whole request cycle. Goal: under 300 ms each.

Runs in a throwaway copy of the console's database (`CREATE DATABASE ...
TEMPLATE`, else a fresh migrate), dropped afterwards: the rows it makes are
never seen by the console, and the real audit chain is untouched.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
AUDIT_ROWS = int(os.environ.get("LEVQOR_BENCH_AUDIT_ROWS", "1000000"))
CASES = int(os.environ.get("LEVQOR_BENCH_ADMIN_CASES", "100000"))
GOAL_MS = 300
PAGES = {
    f"audit trail ({AUDIT_ROWS:,} rows)": "/admin/compliance/auditevent/",
    f"dunning cases ({CASES:,}; default: pending)": "/admin/billing/dunningcase/",
    "dunning cases, all statuses": "/admin/billing/dunningcase/?status=all",
}

FILL = """
INSERT INTO compliance_auditevent
    (seq, occurred_at, actor_label, action, target_type, target_id, details, details_salt, details_digest,
     correlation_id, prev_hash, hash)
SELECT base.seq + n, now() - (n || ' seconds')::interval, 'bench', 'bench.event.' || (n %% 40), 'bench', n::text,
       '{}'::jsonb, '', md5(n::text), '', md5('p' || n) || md5('q' || n), md5('h' || n) || md5('i' || n)
FROM generate_series(1, %s) AS n, (SELECT coalesce(max(seq), 0) AS seq FROM compliance_auditevent) AS base;
INSERT INTO billing_dunningcase
    (stripe_customer_id, stripe_subscription_id, stripe_invoice_id, status, stage, failure_code, decline_code,
     failure_reason, hard_decline, amount_due, currency, attempt_count, hosted_invoice_url, opened_at,
     updated_at, last_event_at, next_action_at, closed_at)
SELECT 'cus_bench_' || n, 'sub_bench_' || n, 'in_bench_' || n,
       CASE WHEN n %% 4 = 0 THEN 'recovered' ELSE 'pending' END, '', '', '', '', false, 2900, 'gbp', 1, '',
       now() - (n || ' minutes')::interval, now(), now(),
       CASE WHEN n %% 4 = 0 THEN NULL ELSE now() + (n || ' seconds')::interval END,
       CASE WHEN n %% 4 = 0 THEN now() END
FROM generate_series(1, %s) AS n;
VACUUM ANALYZE compliance_auditevent;
VACUUM ANALYZE billing_dunningcase;
"""


def _measure() -> dict:
    """In a subprocess whose DATABASE_URL is the throwaway copy."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "levqor.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from levqor.accounts.models import User

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in FILL.split(";"):
            if statement.strip():
                cursor.execute(statement, [AUDIT_ROWS, CASES][: statement.count("%s")])
    filled = time.perf_counter() - started
    staff = User.objects.create_superuser(email=f"bench-{uuid.uuid4().hex[:8]}@levqor.local", password=None)
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(staff)
    figures = {}
    for label, path in PAGES.items():
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        samples = []
        for _ in range(15):
            t = time.perf_counter()
            client.get(path)
            samples.append(time.perf_counter() - t)
        figures[label] = sorted(samples)[len(samples) // 2] * 1000
    return {"fill_s": filled, "pages": figures}


def _psql_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def run(ctx) -> bool:
    from bench import lib

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        print("admin     changelists at scale: skipped (set DATABASE_URL to a PostgreSQL database)")
        return False
    source = urlsplit(url).path.lstrip("/")
    copy = f"{source}_admin_bench"
    admin_url = _psql_url(url, "postgres")
    env = {**os.environ, **lib.BENCH_ENV}

    def sql(statement: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["psql", admin_url, "-q", "-c", statement], capture_output=True, text=True, check=False, env=env
        )

    sql(f'DROP DATABASE IF EXISTS "{copy}"')
    if sql(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"').returncode:  # someone is connected to the source
        sql(f'CREATE DATABASE "{copy}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": _psql_url(url, copy)},
            capture_output=True,
            check=True,
        )
    try:
        done = subprocess.run(
            [sys.executable, __file__, "measure"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": _psql_url(url, copy)},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        sql(f'DROP DATABASE IF EXISTS "{copy}"')
    if done.returncode:
        print(f"admin     could not measure the changelists:\n{done.stderr[-2000:]}")
        return True
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    pages = ", ".join(f"{label} {ms:.0f} ms" for label, ms in figures["pages"].items())
    missed = [label for label, ms in figures["pages"].items() if ms >= GOAL_MS]
    print(
        f"admin     changelists, median of 15 as staff (goal < {GOAL_MS} ms each): {pages}"
        f"{'; MISSED: ' + ', '.join(missed) if missed else ''} (rows made in {figures['fill_s']:.0f} s)"
    )
    return bool(missed)


if __name__ == "__main__" and sys.argv[1:] == ["measure"]:
    print(json.dumps(_measure()))
