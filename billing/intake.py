"""Stripe webhook intake, off the request path. The only module that knows
how dj-stripe stores and processes events, so a dj-stripe upgrade touches
this file alone.

Request: verify the signature against the endpoint's secret (kept per
process, re-checked against the row by the store itself), store dj-stripe's
raw `WebhookEventTrigger` and one `StripeEvent` per event id (on PostgreSQL
in one statement: one round trip, one durable commit), enqueue processing
with `on_commit`, answer 200. No Stripe API call, so the answer takes
milliseconds whatever Stripe is doing.

Task: claim the event by conditional update, run dj-stripe's `Event.process`
(which re-fetches the object from the Stripe API, syncs it, then calls the
`djstripe_receiver` handlers in `billing/webhooks.py`) inside one
transaction, and record the outcome. A failure rolls the sync back, keeps
the event as `failed` with its error and is retried: by django-q2 (the task
is not acknowledged on failure, so the ORM broker presents it again after
`Q_CLUSTER["retry"]` seconds, up to `max_attempts`; the Redis broker does
not redeliver) and by the `billing.retry_stripe_events` schedule (which also
picks up events whose enqueue was lost), both bounded by our own attempt
count in `StripeEvent.attempts`. The outcome is `processed` with a note
(what it did, or why it was ignored) or `unmatched` (it cannot be applied
yet: applied again, on the stored payload, when the customer is linked, the
case opens, or on reprocess).

We do not use dj-stripe's view or `DJSTRIPE_WEBHOOK_EVENT_CALLBACK`: the
callback runs before the trigger's final save, so work enqueued from it can
finish first and then be overwritten (dj-stripe 2.11, `from_request`).
"""

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from traceback import format_exc
from uuid import UUID

import stripe
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, close_old_connections, connection, connections, transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import HttpHeaders
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task
from djstripe._stripe_errors import object_is_absent
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger
from djstripe.models.webhooks import get_remote_ip
from djstripe.settings import djstripe_settings

from levqor.lib.batcher import Batcher
from levqor.lib.http import LeanResponse
from levqor.lib.signals import external_contact_report

from . import selectors, webhooks
from .models import StripeEvent
from .payloads import id_of, invoice_subscription_id
from .standing import SAME_ATTEMPT

logger = logging.getLogger(__name__)

# Key of the transaction-scoped PostgreSQL advisory lock that serialises
# event syncs: related events (invoice.*, payment_intent.*, charge.*) synced
# at once touch the same rows in different orders and deadlock otherwise.
SYNC_LOCK_KEY = 0x1E5_0B11


def max_attempts() -> int:
    return settings.Q_CLUSTER.get("max_attempts") or 5


def stale_after() -> timedelta:
    return timedelta(seconds=settings.Q_CLUSTER.get("retry", 360))


# --- The request ----------------------------------------------------------------------


def _bad(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


@dataclass(frozen=True)
class Endpoint:
    """What a delivery is verified against: the endpoint row's signing
    secret and replay tolerance, as this process last read them."""

    uuid: UUID
    secret: str
    tolerance: int

    def signed(self, *, body: str, signature: str) -> bool:
        try:
            stripe.WebhookSignature.verify_header(body, signature, self.secret, self.tolerance)
        except stripe.SignatureVerificationError:  # also: the row has no secret
            return False
        return True


# The endpoints as this process last read them, by uuid (existing rows only,
# so a handful). Never trusted alone: the store re-checks the secret and
# tolerance against the row in the same statement that inserts the delivery
# (`event_receive`), and a signature the copy rejects is tried again on the
# row as it is now, so a rotated secret or a removed endpoint is honoured by
# the next delivery in every process, at no round trip in the common case.
_endpoints: dict[UUID, Endpoint] = {}


def _endpoint(uuid: UUID, *, fresh: bool = False) -> Endpoint | None:
    if not fresh and (known := _endpoints.get(uuid)) is not None:
        return known
    row = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).values_list("secret", "djstripe_tolerance").first()
    if row is None:
        _endpoints.pop(uuid, None)
        return None
    endpoint = _endpoints[uuid] = Endpoint(uuid=uuid, secret=row[0], tolerance=row[1])
    return endpoint


def _verified(uuid: UUID, *, body: str, signature: str, fresh: bool) -> Endpoint | JsonResponse:
    """The endpoint whose secret signed `body`, or the 404/400 answer. A
    signature the cached copy rejects is checked again on the row as it is
    now: the secret may have been rotated since this process read it."""
    endpoint = _endpoint(uuid, fresh=fresh)
    signed = endpoint is not None and endpoint.signed(body=body, signature=signature)
    if endpoint is not None and not signed and not fresh:
        endpoint = _endpoint(uuid, fresh=True)
        signed = endpoint is not None and endpoint.signed(body=body, signature=signature)
    if endpoint is None:
        return _bad(404, "unknown webhook endpoint")
    if not signed:
        logger.warning("Stripe webhook with a bad signature on endpoint %s", uuid)
        return _bad(400, "bad signature")
    return endpoint


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def webhook(request: HttpRequest, uuid: UUID) -> HttpResponse:
    """Stripe's webhook endpoint: 400 bad signature or JSON, 404 unknown
    endpoint, 413 too big; 200 for every valid event, handled or not."""
    # Stripe's events are a few KB; Django's own cap on reading a body
    # (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB) is far above that.
    max_bytes = settings.LEVQOR_STRIPE_WEBHOOK_MAX_BYTES
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > max_bytes:
        return _bad(413, "body too large")
    signature = request.META.get("HTTP_STRIPE_SIGNATURE", "")
    if not signature:
        return _bad(400, "missing Stripe-Signature")
    if _endpoint(uuid) is None:
        return _bad(404, "unknown webhook endpoint")
    raw = request.body
    if len(raw) > max_bytes:
        return _bad(413, "body too large")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _bad(400, "malformed JSON")
    # The signature first: nothing unauthenticated gets parsed or stored.
    endpoint = _verified(uuid, body=body, signature=signature, fresh=False)
    if isinstance(endpoint, JsonResponse):
        return endpoint
    try:
        data = json.loads(body)
    except ValueError:
        return _bad(400, "malformed JSON")
    if not _looks_like_an_event(data):
        return _bad(400, "not a Stripe event")
    headers = _delivery_headers(request.META)
    if any("\x00" in value for value in headers.values()):
        return _bad(400, "a header holds a NUL character")  # PostgreSQL's text cannot store it
    delivery = Delivery(body=body, data=data, headers=headers, remote_ip=get_remote_ip(request))
    stored = event_receive(endpoint=endpoint, delivery=delivery)
    if stored is None:
        # The row changed after it was read (secret rotated, endpoint
        # removed): verify again against the row as it is now.
        endpoint = _verified(uuid, body=body, signature=signature, fresh=True)
        if isinstance(endpoint, JsonResponse):
            return endpoint
        stored = event_receive(endpoint=endpoint, delivery=delivery)
        if stored is None:  # changed again in these few milliseconds
            return _bad(503, "webhook endpoint changing; retry")
    # JsonResponse's bytes, without its encoder class (plain values only).
    answer = {"received": data["id"], "duplicate": not stored.created, "status": stored.status}
    return LeanResponse(json.dumps(answer), content_type="application/json")


def _delivery_headers(meta: dict) -> dict[str, str]:
    """The request's headers as `dict(request.headers)` gives them
    ("Stripe-Signature": ...), for the stored trigger, without building
    Django's case-insensitive mapping of every environ key first: 9 µs
    instead of 43 for a gunicorn request's environ."""
    headers = {}
    for key, value in meta.items():
        if key.startswith("HTTP_") or key in HttpHeaders.UNPREFIXED_HEADERS:
            headers[_header_name(key)] = value
    return headers


@lru_cache(maxsize=256)  # bounded: the names come from the sender
def _header_name(key: str) -> str:
    return HttpHeaders.parse_header_name(key)


def _looks_like_an_event(data) -> bool:
    """The envelope fields we read, with the types Stripe sends."""
    if not isinstance(data, dict) or data.get("object") != "event":
        return False
    event_id, kind, created = data.get("id"), data.get("type"), data.get("created")
    envelope = data.get("data")
    return (
        isinstance(event_id, str)
        and 0 < len(event_id) <= 255
        and isinstance(kind, str)
        and isinstance(created, int)
        and not isinstance(created, bool)
        and 0 <= created < 2**37  # a real Unix time, not one datetime cannot hold
        and isinstance(envelope, dict)
        and isinstance(envelope.get("object"), dict)
    )


def _object_ids(data: dict) -> tuple[str, str, str]:
    obj = (data.get("data") or {}).get("object") or {}
    kind = obj.get("object")
    customer = obj.get("id") if kind == "customer" else id_of(obj.get("customer"))
    subscription = ""
    if kind == "subscription":
        subscription = obj.get("id", "")
    elif kind == "invoice":
        subscription = invoice_subscription_id(obj)
    return str(customer or "")[:255], str(subscription or "")[:255], str(obj.get("id") or "")[:255]


@dataclass(frozen=True)
class Delivery:
    """One verified request: its body (the event as JSON) and how it came."""

    body: str
    data: dict
    headers: dict
    remote_ip: str


@dataclass(frozen=True)
class Received:
    event_pk: int
    status: str
    created: bool  # False: a redelivery of an event already stored


def event_receive(*, endpoint: Endpoint, delivery: Delivery) -> Received | None:
    """Store a verified delivery (dj-stripe's raw `WebhookEventTrigger`, and
    a `StripeEvent` unless its id is known) in one durable commit, and
    enqueue its processing after the commit. A redelivery of a known event
    only counts the delivery (and re-enqueues it if it failed). Stores
    nothing and returns None when the endpoint row no longer has the secret
    and tolerance the delivery was verified with."""
    store = _store_in_one_statement if connection.vendor == "postgresql" else _store
    received = store(endpoint=endpoint, delivery=delivery)
    if received is not None and (received.created or received.status == StripeEvent.Status.FAILED):
        _enqueue_on_commit(received.event_pk)
    return received


def _event_fields(data: dict) -> dict:
    customer, subscription, object_id = _object_ids(data)
    return {
        "stripe_id": data["id"],
        "type": data["type"][:250],
        "livemode": bool(data.get("livemode")),
        "stripe_created": datetime.fromtimestamp(data["created"], tz=UTC),
        "customer_id": customer,
        "subscription_id": subscription,
        "object_id": object_id,
    }


# PostgreSQL: the endpoint check, the trigger and the event in one statement,
# so one round trip and one commit (in autocommit, durable: the server's
# synchronous_commit) acknowledge a delivery. The endpoint's current row
# gives the trigger its foreign keys, and gives nothing (so nothing is
# stored) if its secret or tolerance is no longer the one verified against.
# A redelivery of a known event id counts the delivery on the existing row,
# waiting for a concurrent first delivery to commit, so one row per id. The
# last column tells which: the row points at this delivery's trigger only if
# this delivery created it. Keep the columns in step with the models (the
# tests run this path on PostgreSQL).
STORE_SQL = """
WITH endpoint AS (
    SELECT id, djstripe_owner_account_id FROM djstripe_webhookendpoint
    WHERE djstripe_uuid = %(uuid)s AND secret = %(secret)s AND djstripe_tolerance = %(tolerance)s
), new_trigger AS (
    INSERT INTO djstripe_webhookeventtrigger (
        remote_ip, headers, body, valid, processed, exception, traceback, djstripe_version, created, updated,
        webhook_endpoint_id, stripe_trigger_account_id
    )
    SELECT %(remote_ip)s::inet, %(headers)s::jsonb, %(body)s, true, false, '', '', %(version)s, %(now)s, %(now)s,
        id, djstripe_owner_account_id
    FROM endpoint
    RETURNING id, body
), event AS (
    INSERT INTO billing_stripeevent (
        stripe_id, type, livemode, stripe_created, customer_id, subscription_id, object_id, payload, trigger_id,
        status, attempts, deliveries, last_error, note, received_at
    )
    SELECT %(stripe_id)s, %(type)s, %(livemode)s, %(stripe_created)s, %(customer_id)s, %(subscription_id)s,
        %(object_id)s, body::jsonb, id, %(status)s, 0, 1, '', '', %(now)s
    FROM new_trigger
    ON CONFLICT (stripe_id) DO UPDATE SET deliveries = billing_stripeevent.deliveries + 1
    RETURNING id, status, trigger_id
)
SELECT event.id, event.status, event.trigger_id = new_trigger.id FROM event, new_trigger
"""


def _store_in_one_statement(*, endpoint: Endpoint, delivery: Delivery) -> Received | None:
    now = timezone.now()
    params = {
        "uuid": endpoint.uuid,
        "secret": endpoint.secret,
        "tolerance": endpoint.tolerance,
        "remote_ip": delivery.remote_ip,
        "headers": json.dumps(delivery.headers),
        "body": delivery.body,
        "version": _djstripe_version(),
        "now": now,
        "status": StripeEvent.Status.RECEIVED.value,
        **_event_fields(delivery.data),
    }
    # No `SELECT 1` first (CONN_HEALTH_CHECKS would send one before this
    # request's first statement: a round trip on every acknowledgement). If
    # the kept connection has died, this statement fails instead, the
    # delivery is answered 500 and Stripe delivers it again (with backoff,
    # for days); Django closes the broken connection when the next request
    # starts. A test kills the connection between two deliveries.
    connection.health_check_done = True
    row = _store_direct(params)
    if row is _NOT_DIRECT:
        with _store_cursor() as cursor:
            cursor.execute(STORE_SQL, params)
            row = cursor.fetchone()
    if row is None:
        return None
    return Received(event_pk=row[0], status=row[1], created=bool(row[2]))


# STORE_SQL for libpq: numbered placeholders, each parameter's type (0: as
# the statement implies), and its text form.
_DIRECT_NAME = b"levqor_stripe_event_store"
_DIRECT_TYPES = {"uuid": 2950, "tolerance": 23, "now": 1184, "stripe_created": 1184, "livemode": 16}
_NOT_DIRECT = object()


@cache
def _direct_statement() -> tuple[bytes, tuple[str, ...], list[int]]:
    names: list[str] = []

    def number(match) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    sql = re.sub(r"%\((\w+)\)s", number, STORE_SQL)
    return sql.encode(), tuple(names), [_DIRECT_TYPES.get(name, 0) for name in names]


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _store_direct(params: dict):
    """STORE_SQL prepared once per connection and run through libpq itself
    (psycopg's `PGconn`, which lets go of the GIL while it waits), without
    psycopg's cursor and adapters around it: measured, a third less of the
    acknowledgement's own CPU time. The same statement, the same text
    PostgreSQL parses for every value, so the rows are the cursor path's
    (a test stores one delivery each way and compares them). `_NOT_DIRECT`
    where the cursor path must run instead: not psycopg 3, behind a pooler
    (`DISABLE_SERVER_SIDE_CURSORS`), inside a transaction (a statement
    prepared in one is forgotten if it rolls back), while queries are logged or wrapped
    (DEBUG, tests, the bench's counters see every statement), or a value
    libpq's text form cannot carry (a NUL character: the cursor path
    refuses it with its own error)."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` looks the thread's up again
    if (
        db.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
        or db.in_atomic_block
        or db.queries_logged
        or db.execute_wrappers
        or not _prepared_cursor_class()
    ):
        return _NOT_DIRECT
    sql, names, types = _direct_statement()
    values = [_as_text(params[name]) for name in names]
    if any("\x00" in value for value in values):
        return _NOT_DIRECT
    encoded = [value.encode() for value in values]
    from psycopg import errors, pq  # noqa: PLC0415 - psycopg 3 only, checked above

    db.ensure_connection()
    raw = db.connection
    with db.wrap_database_errors:
        for attempt in (1, 2):
            pgconn = raw.pgconn
            if getattr(raw, "_levqor_store_prepared", None) is not pgconn:
                prepared = pgconn.prepare(_DIRECT_NAME, sql, types)
                if (
                    prepared.status != pq.ExecStatus.COMMAND_OK
                    and prepared.error_field(pq.DiagnosticField.SQLSTATE) != b"42P05"
                ):  # already prepared on this session: use it
                    raise errors.error_from_result(prepared, encoding=raw.info.encoding)
                raw._levqor_store_prepared = pgconn
            result = pgconn.exec_prepared(_DIRECT_NAME, encoded)
            if result.status == pq.ExecStatus.TUPLES_OK:
                break
            if attempt == 1 and result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000":
                raw._levqor_store_prepared = None  # the session lost it (DISCARD ALL): prepare again
                continue
            raise errors.error_from_result(result, encoding=raw.info.encoding)
    if not result.ntuples:
        return None
    return int(result.get_value(0, 0)), result.get_value(0, 1).decode(), result.get_value(0, 2) == b"t"


def _store_cursor():
    """A cursor for STORE_SQL: prepared on the server once per connection
    (psycopg's server-side binding), so PostgreSQL plans the statement's
    two inserts and endpoint check once instead of for every delivery,
    and the parameters go apart from the text instead of quoted into it.
    Measured: a third less PostgreSQL time per acknowledgement. Wrapped as
    Django wraps its own (query log, error translation). A connection pooler
    in transaction mode cannot keep prepared statements; Django's
    `DISABLE_SERVER_SIDE_CURSORS` (set for such a pooler) turns this off."""
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS") or not _prepared_cursor_class():
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's prepared statements off for the connection
        # (for poolers). Counting on, with a threshold no query reaches, lets
        # this one statement, which asks explicitly, be prepared: Django's
        # other queries bind on the client and are never prepared anyway.
        raw.prepare_threshold = 2**31 - 1
    return connection._prepare_cursor(_prepared_cursor_class()(raw))


@cache
def _prepared_cursor_class():
    """Django's server-binding cursor, always executing prepared; None
    without psycopg 3."""
    from django.db.backends.postgresql import base as postgresql  # noqa: PLC0415 - PostgreSQL only

    if not postgresql.is_psycopg3:
        return None

    class PreparedCursor(postgresql.ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


@cache
def _djstripe_version() -> str:
    return WebhookEventTrigger._meta.get_field("djstripe_version").get_default()


@transaction.atomic
def _store(*, endpoint: Endpoint, delivery: Delivery) -> Received | None:
    """The same through the ORM, for SQLite (no INSERT in a WITH clause)."""
    current = (
        WebhookEndpoint.objects.filter(
            djstripe_uuid=endpoint.uuid, secret=endpoint.secret, djstripe_tolerance=endpoint.tolerance
        )
        .values_list("id", "djstripe_owner_account_id")
        .first()
    )
    if current is None:
        return None
    trigger = WebhookEventTrigger.objects.create(
        headers=delivery.headers,
        body=delivery.body,
        remote_ip=delivery.remote_ip,
        valid=True,
        webhook_endpoint_id=current[0],
        stripe_trigger_account_id=current[1],
    )
    fields = _event_fields(delivery.data)
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(**fields, payload=delivery.data, trigger=trigger)
    except IntegrityError:
        known = StripeEvent.objects.filter(stripe_id=fields["stripe_id"])
        known.update(deliveries=F("deliveries") + 1)
        pk, status = known.values_list("pk", "status").get()
        return Received(event_pk=pk, status=status, created=False)
    return Received(event_pk=record.pk, status=record.status, created=True)


def _enqueue_on_commit(event_pk: int) -> None:
    transaction.on_commit(lambda: _hand_over(event_pk))


def _hand_over(event_pk: int) -> None:
    """After the acknowledgement commits: to the process's batcher, whose
    thread queues the processing after the response (see `_batches`), or
    queued right here when django-q2 runs tasks inline (tests: the task
    then runs in the request, as the test expects)."""
    if settings.Q_CLUSTER.get("sync"):
        enqueue(event_pk)
    else:
        _batches.add(event_pk)


def enqueue(event_pk: int) -> None:
    """Hand the event to django-q2. Never raises: if the broker is down the
    event stays `received` and the retry schedule picks it up."""
    try:
        # ack_failure=False: a failed run is not acknowledged, so the broker
        # presents it again after Q_CLUSTER["retry"] s, up to max_attempts.
        async_task(event_process, event_pk=event_pk, ack_failure=False, task_name=f"stripe-event-{event_pk}")
    except Exception:
        logger.exception("could not run or enqueue Stripe event %s; the retry schedule will", event_pk)


def enqueue_many(event_pks: list[int]) -> None:
    """Hand several events to django-q2 as one task (`events_process`); a
    lone event as `enqueue` does. Never raises, as `enqueue`."""
    close_old_connections()  # the batcher's thread serves no request: nothing else closes a dead one (ORM broker)
    if len(event_pks) == 1:
        enqueue(event_pks[0])
        return
    try:
        async_task(
            events_process,
            event_pks=list(event_pks),
            ack_failure=False,
            task_name=f"stripe-events-{event_pks[0]}-and-{len(event_pks) - 1}-more",
        )
    except Exception:
        logger.exception("could not enqueue Stripe events %s; the retry schedule will", event_pks)


# Acknowledged events wait here for their task. Each acknowledgement used to
# queue its own (a signed package and a broker round trip: a sixth of the
# acknowledgement's CPU); the batcher's thread queues what arrived within
# 20 ms of the first as one task, after the responses went out, and a lone
# event 20 ms later. Waiting 20 ms rather than 5 made the tasks about four
# times fuller under load and raised the acknowledgements from 0.33× to
# 0.36× the ceiling side by side (six runs each; README, Benchmarks). An
# event whose hand-over is lost with its process is still `received` in the
# database: the retry schedule queues it (`events_retry`). At most 20 a
# task: processed one after another, each with its Stripe call, well inside
# the task timeout.
EVENTS_PER_TASK = 20
HAND_OVER_LINGER = 0.02
_batches = Batcher(enqueue_many, name="stripe-event-hand-over", max_items=EVENTS_PER_TASK, linger=HAND_OVER_LINGER)


# --- The task ----------------------------------------------------------------------------


def _claim(event_pk: int, *, force: bool) -> bool:
    now = timezone.now()
    claimable = StripeEvent.objects.filter(pk=event_pk)
    if force:
        claimable = claimable.exclude(status=StripeEvent.Status.PROCESSED).exclude(
            status=StripeEvent.Status.PROCESSING, last_attempt_at__gt=now - stale_after()
        )
    else:
        claimable = claimable.filter(
            Q(status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED], attempts__lt=max_attempts())
            | Q(
                status=StripeEvent.Status.PROCESSING,
                last_attempt_at__lte=now - stale_after(),
                attempts__lt=max_attempts(),
            )
        )
    return bool(claimable.update(status=StripeEvent.Status.PROCESSING, attempts=F("attempts") + 1, last_attempt_at=now))


def _serialise_syncs() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK_KEY])


def _mark_processed(record: StripeEvent, event, note: str = "", outcome=None) -> str:
    """Record how processing ended: `processed` (with what it did or why it
    was ignored) or `unmatched` (kept until the customer is linked or the
    case opens). Returns the status."""
    status = StripeEvent.Status.UNMATCHED if outcome is not None and outcome.unmatched else StripeEvent.Status.PROCESSED
    fields = {"status": status, "last_error": "", "note": (outcome.note if outcome else note)[:255]}
    fields["processed_at"] = timezone.now() if status == StripeEvent.Status.PROCESSED else None
    if outcome is not None and outcome.case is not None:
        fields["case"] = outcome.case
    StripeEvent.objects.filter(pk=record.pk).update(**fields)
    if record.trigger_id:
        # .update(), not save(): never overwrite fields another writer set.
        changes = {"processed": True, "exception": "", "traceback": ""}
        if event is not None:
            changes["event"] = event
        WebhookEventTrigger.objects.filter(pk=record.trigger_id).update(**changes)
    return status


def _report_stripe_contact(started: float, exc: Exception | None) -> None:
    """Tell the status page how the Stripe API answered (processing syncs the
    object from it). Only connection and server trouble counts as down; a
    refusal about one object still means Stripe was reached."""
    unreachable = isinstance(exc, stripe.APIConnectionError | stripe.APIError)
    external_contact_report(
        sender=__name__,
        name="stripe",
        ok=not unreachable,
        latency_ms=round((time.perf_counter() - started) * 1000),
        error=type(exc).__name__ if unreachable else "",
    )


def event_process(*, event_pk: int, force: bool = False) -> str:
    """Process one stored event: dj-stripe sync (Stripe API), our handlers
    and the outcome (`processed` with a note, or `unmatched`), in one
    transaction, so the effect and the status commit together. An event
    dj-stripe already has (an unmatched one) only runs billing's handlers
    again. Returns the resulting status, or "skipped" when it is processed
    already or another worker holds it. Raises on failure after recording
    it, so the queue retries. Safe to run twice."""
    was = StripeEvent.objects.filter(pk=event_pk).values_list("status", flat=True).first()
    if not _claim(event_pk, force=force):
        return "skipped"
    record = StripeEvent.objects.get(pk=event_pk)
    if was == StripeEvent.Status.UNMATCHED or Event.objects.filter(id=record.stripe_id).exists():
        # Synced, and every app's receivers ran, when it was first processed
        # (dj-stripe runs them once per event id): only billing's handlers
        # run again, on the stored payload, with no Stripe call.
        return _apply_stored(record)
    api_key = djstripe_settings.get_default_api_key(record.livemode)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            _serialise_syncs()
            with webhooks.collect() as outcomes:
                event = Event.process(record.payload, api_key=api_key)
            status = _mark_processed(record, event, outcome=outcomes.get(record.stripe_id))
        _report_stripe_contact(started, None)
    except Exception as exc:
        _report_stripe_contact(started, exc)
        if isinstance(exc, stripe.InvalidRequestError) and object_is_absent(exc):
            # Stripe does not know the object (a deleted or foreign one):
            # nothing to sync or act on. Stored, acknowledged, not retried.
            with transaction.atomic():
                _mark_processed(record, None, note=f"ignored: object unknown to Stripe: {str(exc)[:200]}")
            return StripeEvent.Status.PROCESSED
        error = f"{type(exc).__name__}: {exc}"
        with transaction.atomic():
            StripeEvent.objects.filter(pk=event_pk).update(status=StripeEvent.Status.FAILED, last_error=error[:5000])
            if record.trigger_id:
                WebhookEventTrigger.objects.filter(pk=record.trigger_id).update(
                    exception=error[:128], traceback=format_exc(), processed=False
                )
        raise
    return status


def events_process(*, event_pks: list[int]) -> dict[str, str]:
    """Several stored events (a batch of acknowledgements), each as
    `event_process` does, one after another in the order received: one's
    failure does not stop the rest. Raises after the last when any failed,
    so the queue presents the task again, which re-runs only those (the
    rest are processed and skipped). Returns {event pk: status}."""
    outcomes: dict[str, str] = {}
    failed = []
    for pk in event_pks:
        try:
            outcomes[str(pk)] = event_process(event_pk=pk)
        except Exception as exc:
            outcomes[str(pk)] = StripeEvent.Status.FAILED
            failed.append(f"{pk}: {type(exc).__name__}: {exc}")
    if failed:
        raise EventsFailed("; ".join(failed))
    return outcomes


class EventsFailed(Exception):
    """Some events of a batch failed (each recorded on its row)."""


def _record_failure(record: StripeEvent, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        StripeEvent.objects.filter(pk=record.pk).update(status=StripeEvent.Status.FAILED, last_error=error[:5000])


def _apply_stored(record: StripeEvent) -> str:
    """Billing's handlers on the stored payload, in one transaction with the
    status. Raises on failure after recording it."""
    try:
        with transaction.atomic():
            _serialise_syncs()
            outcome = webhooks.apply(
                kind=record.type, event_id=record.stripe_id, at=record.stripe_created, data=record.payload.get("data")
            )
            return _mark_processed(record, None, outcome=outcome)
    except Exception as exc:
        _record_failure(record, exc)
        raise


def events_apply_unmatched(*, customer_id: str) -> dict[str, int]:
    """Apply a customer's unmatched events, oldest first (a failure opens
    its case, then the PaymentIntent failures waiting for it land on it).
    Returns counts by outcome. Safe to run twice."""
    counts: dict[str, int] = {}
    for pk in selectors.event_ids_unmatched(customer_id=customer_id):
        status = event_reprocess(event_pk=pk)
        counts[status] = counts.get(status, 0) + 1
    return counts


def events_retry(*, now: datetime) -> int:
    """Scheduled: fail events stuck past their last attempt, re-enqueue those
    the queue lost or that failed with attempts left (backed off by attempt
    count), and apply unmatched events whose customer is linked by now.
    Returns how many were re-enqueued. Safe to run twice."""
    events_fail_stuck()
    ids = selectors.event_ids_to_retry(now=now, max_attempts=max_attempts(), stale_after=stale_after())
    for pk in ids:
        enqueue(pk)
    events_retry_unmatched(now=now)
    return len(ids)


def events_reprocess(*, event_pks: list[int]) -> dict[str, int]:
    """Staff: reprocess many events now (see `event_reprocess`). Returns
    counts by outcome. Safe to run twice."""
    counts: dict[str, int] = {}
    for pk in event_pks:
        status = event_reprocess(event_pk=pk)
        counts[status] = counts.get(status, 0) + 1
    return counts


def events_retry_unmatched(*, now: datetime) -> int:
    """Scheduled: apply unmatched events whose customer is linked by now.
    Returns how many were tried."""
    ids = selectors.event_ids_unmatched_to_retry(now=now, wait_for_invoice=SAME_ATTEMPT)
    for pk in ids:
        event_reprocess(event_pk=pk)
    return len(ids)


def events_fail_stuck() -> int:
    """Events left `processing` past the task timeout with no attempts left
    (the worker died or timed out every time) become `failed`, so they show
    up for reprocessing. Returns how many."""
    return StripeEvent.objects.filter(
        status=StripeEvent.Status.PROCESSING,
        last_attempt_at__lte=timezone.now() - stale_after(),
        attempts__gte=max_attempts(),
    ).update(status=StripeEvent.Status.FAILED, last_error="The worker died or timed out on every attempt.")


def event_reprocess(*, event_pk: int) -> str:
    """Staff/command: run a failed, stuck or unmatched event again now,
    whatever its attempt count. Returns the status ("unmatched" if it still
    cannot be applied, "skipped" if processed already); never raises."""
    try:
        return event_process(event_pk=event_pk, force=True)
    except Exception:
        return StripeEvent.Status.FAILED
