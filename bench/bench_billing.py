"""Billing figures.

1. Webhook acknowledgement: signed Stripe events (each a fresh id, as
   Stripe sends them) posted by 20 concurrent senders to
   `/stripe/webhook/<uuid>/` under gunicorn (gunicorn.conf.py, the ceiling
   too): p50/p99 latency and throughput as a ratio of the ceiling loaded
   by the same client, the two in alternating slices (`--rounds` of
   `--seconds` each; throughput over all slices, the worst slice's p99;
   goal ≥ 0.3×, p99 < 50 ms, none lost), then the latency of one sender
   alone (the service time without queueing). The
   senders are wrk (C) with 20 connections, a new one per delivery as
   Stripe's come, running `webhook_senders.lua`: every event is signed
   just before the run (well within the endpoint's 300 s replay tolerance)
   and sent once. A load generator in Python would share the two cores
   with the server and add its own GIL queueing to every latency; without
   wrk the bench falls back to one (`lib.hammer`), signing per request.
   The request verifies, stores and enqueues; processing happens in the
   task queue (not running here). Each acknowledgement waits for one
   durable database commit. Afterwards every acknowledged event must be
   stored: "lost" counts those that are not.
2. `run_dunning` over 100,000 due pending cases (PostgreSQL only: set
   DATABASE_URL): wall time and query count of the sweep (stage updates,
   audit entries, the stage emails queued in the outbox), plus the cost per
   email the outbox delivers in a worker, measured on a sample. Goal: the sweep in 60 s or less.
   LEVQOR_BENCH_DUNNING_CASES sets the number of cases; 0 skips the sweep
   (the webhook figure alone, while iterating on it).

Uses the database the console uses (DATABASE_URL, else var/levqor.sqlite3),
migrated if needed. Rows it makes are deleted afterwards (its outbox emails
and the tasks its acknowledgements queued included), except audit entries
(the trail is append-only).
"""

import functools
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import lib

SECRET = "whsec_bench_only_" + "0" * 16
SENDERS = 20
LUA = Path(__file__).with_name("webhook_senders.lua")
MAX_RATE = 5000  # deliveries a second the presigned files allow for

DUNNING = """
import time
from datetime import timedelta
from django.db import connection
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone
from levqor.accounts.models import Account
from levqor.accounts.services import account_create
from billing import dunning, notices
from billing.models import DunningCase
from compliance.models import OutboundEmail
from compliance.outbox import services as outbox

N = {n}
account = Account.objects.filter(name="Dunning Bench Ltd").first() or account_create(
    name="Dunning Bench Ltd", plan="growth", owner_email="dunning-bench@levqor.local",
    billing_state="active", actor=None,
)
def analyze(table):
    # As autovacuum would soon after a big change (and where it is off, as on
    # some development machines, never): the sweep's and the clean-up's plans
    # need the tables' counts (stale ones made the clean-up's DELETE a nested
    # loop over 100,000 × 100,000 rows).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {{table}}")
def bench_emails():
    cases = DunningCase.objects.filter(stripe_subscription_id__startswith="sub_bench_")
    ids = cases.annotate(about=Cast("pk", CharField())).values("about")
    return OutboundEmail.objects.filter(kind=notices.KIND, about_type="billing.dunningcase", about_id__in=ids)
analyze("compliance_outboundemail")
bench_emails().delete()
DunningCase.objects.filter(stripe_subscription_id__startswith="sub_bench_").delete()
opened = timezone.now() - timedelta(days=1)
DunningCase.objects.bulk_create(
    (DunningCase(account=account, stripe_customer_id="cus_bench", stripe_subscription_id=f"sub_bench_{{i}}",
                 stripe_invoice_id=f"in_bench_{{i}}", amount_due=2900, currency="gbp", opened_at=opened,
                 last_event_at=opened, next_action_at=opened) for i in range(N)),
    batch_size=5000,
)
analyze("billing_dunningcase")
queries = 0
def count(execute, sql, params, many, context):
    global queries
    queries += 1
    return execute(sql, params, many, context)
with connection.execute_wrapper(count):
    started = time.perf_counter()
    result = dunning.dunning_run()
    sweep = time.perf_counter() - started
ours = bench_emails().count()  # the bench's cases advanced (others in the database may be due too)
sample = list(bench_emails().values_list("pk", flat=True)[:1000])
started = time.perf_counter()
sent = sum(1 for pk in sample if outbox.email_deliver(email_id=pk))
per_email = (time.perf_counter() - started) / max(sent, 1)
print(f"RESULT {{sweep:.1f}} {{queries}} {{ours}} {{per_email * 1000:.2f}} {{sent}}")
analyze("compliance_outboundemail")
bench_emails().delete()
DunningCase.objects.filter(stripe_subscription_id__startswith="sub_bench_").delete()
"""


# This run's events, their raw deliveries, and the tasks their
# acknowledgements queued (no cluster runs during the bench: they would
# wait in the queue for the console's next qcluster otherwise); also what
# an interrupted earlier run left, if older than 15 minutes. Never the
# history kept for every run (PREPARE_TABLES), nor what a run going on at
# the same time stored before it counted it.
CLEAN_UP = """
from datetime import timedelta
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from billing.models import StripeEvent
from djstripe.models import WebhookEventTrigger

RUN = "evt_bench_{run_id}_"
events = StripeEvent.objects.filter(
    Q(stripe_id__startswith=RUN)
    | Q(stripe_id__startswith="evt_bench_", received_at__lt=timezone.now() - timedelta(minutes=15))
).exclude(stripe_id__startswith="evt_bench_history_")
pks = set(events.values_list("pk", flat=True))
triggers = list(events.exclude(trigger=None).values_list("trigger_id", flat=True))

def ours(package):
    try:
        task = SignedPackage.loads(package)
    except Exception:
        return False
    kwargs = task.get("kwargs", {})
    # One event a task ("stripe-event-<pk>"), or a batch ("stripe-events-<pk>-and-<n>-more").
    queued = kwargs.get("event_pks") or [kwargs.get("event_pk")]
    return str(task.get("name", "")).startswith("stripe-event") and any(pk in pks for pk in queued)

if "redis" in settings.Q_CLUSTER:
    broker = get_broker()
    client = broker.connection
    for package in client.lrange(broker.list_key, 0, -1):
        if ours(package):
            client.lrem(broker.list_key, 1, package)
else:
    OrmQ.objects.filter(pk__in=[q.pk for q in OrmQ.objects.all() if ours(q.payload)]).delete()
events.delete()
WebhookEventTrigger.objects.filter(pk__in=triggers).delete()
"""


# A production events table holds months of history, so the bench runs on
# one: HISTORY processed events (with their raw deliveries) are stored once,
# kept across runs and analysed, so PostgreSQL plans the acknowledgement's
# statement and its foreign-key checks as it would in production. Measured
# on an empty table instead, the plans chosen while it is tiny (sequential
# scans) follow it as it fills during the run. The tables are vacuumed
# before the load and after the clean-up: each run deletes what it stored,
# and where the server's autovacuum is off (as on some development machines)
# the dead rows would pile up run after run.
HISTORY = 20_000
HISTORY_SQL = """
WITH t AS (
    INSERT INTO djstripe_webhookeventtrigger (remote_ip, headers, body, valid, processed, exception, traceback,
        djstripe_version, created, updated, webhook_endpoint_id)
    SELECT '127.0.0.1', '{"Content-Type": "application/json"}'::jsonb,
        json_build_object(
            'id', 'evt_bench_history_' || g || '_' || md5(random()::text), 'object', 'event', 'type', 'invoice.paid',
            'data', json_build_object('object', json_build_object('id', 'in_history_' || g, 'object', 'invoice'))
        )::text,
        true, true, '', '', '2.11', now() - g * interval '1 minute', now() - g * interval '1 minute',
        (SELECT id FROM djstripe_webhookendpoint LIMIT 1)
    FROM generate_series(1, %s) g
    RETURNING id, body::jsonb AS payload, created
)
INSERT INTO billing_stripeevent (stripe_id, type, livemode, stripe_created, customer_id, subscription_id, object_id,
    payload, trigger_id, status, attempts, deliveries, last_error, note, received_at, last_attempt_at, processed_at)
SELECT payload->>'id', 'invoice.paid', false, created, 'cus_history', '', payload->'data'->'object'->>'id',
    payload, id, 'processed', 1, 1, '', 'bench history', created, created, created
FROM t
"""
PREPARE_TABLES = """
from django.db import connection
from bench.bench_billing import HISTORY, HISTORY_SQL
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_stripeevent WHERE stripe_id LIKE %s", ["evt_bench_history_%"])
        missing = HISTORY - cursor.fetchone()[0]
        if missing > 0:
            cursor.execute(HISTORY_SQL, [missing])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) billing_stripeevent, djstripe_webhookeventtrigger")
"""


def _manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=lib.ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"bench_billing: manage.py {args[0]} failed:\n{done.stderr}")
    return done.stdout


def _payload(event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "invoice.created",
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2025-09-30.clover",
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": {"id": "in_bench", "object": "invoice", "customer": "cus_bench"}},
        }
    ).encode()


def _signature(body: bytes, at: int) -> str:
    digest = hmac.new(SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def _signed_events(run_id: str):
    """For the Python senders: a fresh event signed per request."""
    counter = itertools.count()

    def body_factory():
        body = _payload(f"evt_bench_{run_id}_{next(counter)}")
        return body, {"Content-Type": "application/json", "Stripe-Signature": _signature(body, int(time.time()))}

    return body_factory


def _presigned(directory: Path, *, run_id: str, label: str, seconds: float) -> Path:
    """A file of distinct deliveries signed now for `webhook_senders.lua`,
    more than the senders could post in `seconds`."""
    at = int(time.time())
    target = directory / f"{label}.txt"
    with target.open("w") as out:
        for i in range(int(seconds * MAX_RATE) + 1000):
            body = _payload(f"evt_bench_{run_id}_{label}_{i}")
            out.write(f"{_signature(body, at)}\t{body.decode()}\n")
    return target


def _senders(port: int, path: str, *, directory: Path, run_id: str, label: str, seconds: float, clients: int):
    """`clients` senders for `seconds`: (req/s, p50 ms, p99 ms, failed, requests)."""
    if lib.WRK is None:
        load = lib.hammer(
            port, path, seconds=seconds, clients=clients, method="POST", body_factory=_signed_events(run_id)
        )
        return lib.Figure(load.rps, load.percentile(0.5), load.percentile(0.99), load.failed, load.ok + load.failed)
    threads = min(2, clients)
    deliveries = _presigned(directory, run_id=run_id, label=label, seconds=seconds)
    return lib.wrk(
        port,
        path,
        seconds=seconds,
        threads=threads,
        connections=clients,
        script=LUA,
        script_args=(str(threads), str(deliveries)),
    )


def run(ctx) -> bool:
    env = {**os.environ, **lib.BENCH_ENV, "LEVQOR_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    _manage("migrate", "--noinput", env=env)
    path = _manage("stripe_setup", "--secret", SECRET, env=env).strip().splitlines()[-1]
    _manage("shell", "-c", PREPARE_TABLES, env=env)
    run_id = uuid.uuid4().hex[:8]
    with (
        tempfile.TemporaryDirectory() as directory,
        lib.gunicorn(workers=ctx.workers) as port,
        lib.gunicorn(workers=ctx.workers, app="bench.ceiling:application") as ceiling_port,
    ):
        senders = functools.partial(_senders, port, path, directory=Path(directory), run_id=run_id)
        senders(label="warm", seconds=1.0, clients=SENDERS)
        lib.wrk(ceiling_port, "/ceiling", seconds=1.0, connections=SENDERS)
        # The ceiling under the same client and connections, in alternating
        # slices with the acknowledgements, so a machine that speeds up or
        # slows down meanwhile moves both sides of the ratio alike.
        loads, ceilings = [], []
        for turn in range(ctx.rounds):
            loads.append(senders(label=f"load{turn}", seconds=ctx.seconds, clients=SENDERS))
            ceilings.append(lib.wrk(ceiling_port, "/ceiling", seconds=ctx.seconds, connections=SENDERS))
        load, ceiling = lib.merge(loads), lib.merge(ceilings)
        # One sender at a time: the service time itself, without queueing
        # behind the other 19 senders.
        alone = senders(label="alone", seconds=2.0, clients=1)
    stored = int(
        _manage(
            "shell",
            "-c",
            "from billing.models import StripeEvent; "
            f"print(StripeEvent.objects.filter(stripe_id__startswith='evt_bench_{run_id}_load').count())",
            env=env,
        )
        .strip()
        .splitlines()[-1]
    )
    _manage("shell", "-c", CLEAN_UP.replace("{run_id}", run_id), env=env)
    _manage("shell", "-c", PREPARE_TABLES, env=env)
    # wrk counts the answers it read; a delivery still in flight when it
    # stopped may be stored too, so stored ≥ acknowledged when none is lost.
    acknowledged = load.requests - load.failed
    lost = max(0, acknowledged - stored) if lib.WRK else 0
    ratio = load.rps / ceiling.rps if ceiling.rps else 0.0
    met = ratio >= 0.3 and load.p99 < 50 and not load.failed and not lost
    client = "wrk, 20 connections" if lib.WRK else "Python senders"
    print(
        f"billing   signed Stripe webhook ack, {SENDERS} concurrent senders ({client}), "
        f"gunicorn {lib.serving(ctx.workers)}: {load.rps:,.0f} req/s = "
        f"{ratio:.2f}× the ceiling under the same client ({ceiling.rps:,.0f} req/s; "
        f"{ctx.rounds} alternating slices of {ctx.seconds:g} s), "
        f"p50 {load.p50:.1f} ms, p99 {load.p99:.1f} ms, {load.failed} failed, "
        f"{acknowledged:,} acknowledged, {lost} lost (goal ≥ 0.3×, p99 < 50 ms, none failed or lost: "
        f"{'ok' if met else 'MISSED'}); one sender alone: p50 {alone.p50:.1f} ms, p99 {alone.p99:.1f} ms"
    )
    failed = not met or bool(alone.failed)

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")):
        print("billing   run_dunning over 100,000 cases: skipped (set DATABASE_URL to a PostgreSQL database)")
        return failed
    cases = int(os.environ.get("LEVQOR_BENCH_DUNNING_CASES", "100000"))
    if cases <= 0:
        print("billing   run_dunning: skipped (LEVQOR_BENCH_DUNNING_CASES=0)")
        return failed
    out = _manage("shell", "-c", DUNNING.format(n=cases), env=env)
    line = next(row for row in out.splitlines() if row.startswith("RESULT "))
    sweep, queries, advanced, per_email, sent = line.split()[1:]
    print(
        f"billing   run_dunning over {cases:,} due pending cases (PostgreSQL): {float(sweep):.1f} s "
        f"(goal ≤ 60 s), {int(queries):,} queries ({int(queries) * 1000 / max(int(advanced), 1):.0f} per 1,000 cases), "
        f"{int(advanced):,} stage emails claimed and queued; delivery by a worker {float(per_email):.2f} ms "
        f"per email (sample of {sent})"
    )
    return failed or int(advanced) != cases
