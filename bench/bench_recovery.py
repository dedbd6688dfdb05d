"""Recovery analytics over 100,000 dunning cases (12 months of opened,
recovered, canceled and pending cases, five decline codes): the figures
(`billing.analytics.recovery_figures`) and the whole staff page (Admin →
Recovery analytics, through Django's test client, charts included), each
the best of three runs. Goal: the page in under a second.

Uses the database the console uses (DATABASE_URL, else var/levqor.sqlite3),
migrated if needed. Its cases, account and staff user are deleted afterwards
(audit entries stay: the trail is append-only).
"""

import os
import subprocess
import sys

from bench import lib

SCRIPT = """
import time
from datetime import timedelta
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone
from billing.analytics import recovery_figures
from billing.models import DunningCase
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_create

N = {n}
account = Account.objects.filter(name="Recovery Bench Ltd").first() or account_create(
    name="Recovery Bench Ltd", plan="growth", owner_email="recovery-bench@levqor.local",
    billing_state="active", actor=None,
)
DunningCase.objects.filter(stripe_subscription_id__startswith="sub_rbench_").delete()
now = timezone.now()
codes = ["insufficient_funds", "expired_card", "do_not_honor", "stolen_card", ""]
def make(i):
    opened = now - timedelta(minutes=(i * 5237) % (360 * 24 * 60))
    kind = i % 10
    status = "recovered" if kind < 6 else ("canceled" if kind < 8 else "pending")
    closed = opened + timedelta(hours=(i % 300) + 1) if status != "pending" else None
    if closed is not None and closed > now:
        closed = now
    return DunningCase(
        account=account, stripe_customer_id="cus_rbench", stripe_subscription_id=f"sub_rbench_{{i}}",
        status=status, stage=["", "day0", "day7", "day14"][i % 4] if status == "pending" else "day0",
        opened_at=opened, closed_at=closed, last_event_at=opened, amount_due=[900, 2900, 5900, 14900][i % 4],
        currency="gbp", decline_code=codes[i % 5], failure_code="card_declined",
    )
DunningCase.objects.bulk_create((make(i) for i in range(N)), batch_size=5000)
staff = User.objects.filter(email="recovery-bench-staff@levqor.local").first() or User.objects.create_superuser(
    email="recovery-bench-staff@levqor.local", password=None
)
client = Client()
client.force_login(staff)
def best(fn):
    times = []
    for _ in range(3):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)
figures_s = best(lambda: recovery_figures(now=timezone.now()))
status = []
# No collectstatic in a bench run: plain static storage (whitenoise's manifest needs it).
plain = {{**settings.STORAGES, "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}}}
with override_settings(STORAGES=plain):
    page_s = best(lambda: status.append(client.get("/admin/billing/dunningcase/recovery-analytics/").status_code))
print(f"RESULT {{figures_s:.3f}} {{page_s:.3f}} {{status[-1]}}")
DunningCase.objects.filter(stripe_subscription_id__startswith="sub_rbench_").delete()
staff.delete()
"""


def _manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=lib.ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"bench_recovery: manage.py {args[0]} failed:\n{done.stderr}")
    return done.stdout


def run(ctx) -> bool:
    env = {**os.environ, **lib.BENCH_ENV, "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost"}
    _manage("migrate", "--noinput", env=env)
    cases = int(os.environ.get("LEVQOR_BENCH_RECOVERY_CASES", "100000"))
    out = _manage("shell", "-c", SCRIPT.format(n=cases), env=env)
    line = next(row for row in out.splitlines() if row.startswith("RESULT "))
    figures_s, page_s, status = line.split()[1:]
    print(
        f"billing   recovery analytics over {cases:,} cases: figures {float(figures_s) * 1000:.0f} ms, "
        f"whole admin page {float(page_s) * 1000:.0f} ms (goal < 1,000 ms), HTTP {status}"
    )
    return status != "200" or float(page_s) >= 1.0
