"""Probes: measure each component, time-boxed, from the task queue only.

No request ever runs a probe: the snapshot task does, and pages and JSON
read what it stored. Every probe has `PROBE_TIMEOUT` seconds; one that has
not answered by then counts as `down` ("timed out"). Outside services
(Stripe, the email provider) are not called at all: their probe reads the
result of the last real call, recorded by status's receivers (billing's
`external_contact` signal after each Stripe call, anymail's `post_send`).

Notes never carry exception messages (they can hold hosts, users or keys):
only the exception's class name.
"""

import http.client
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections

from .models import HEARTBEAT_SECONDS, Component, ExternalContact, Heartbeat, Probe, State

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0  # seconds; the hard limit for any probe
# The queue is degraded after 2 missed heartbeats and down after 3.
QUEUE_DEGRADED_AFTER = 2 * HEARTBEAT_SECONDS
QUEUE_DOWN_AFTER = 3 * HEARTBEAT_SECONDS
# A recorded outside contact older than this is still reported, with a note.
CONTACT_STALE_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Result:
    state: str
    latency_ms: int | None = None
    note: str = ""


def classify(component: Component, latency_ms: int | None, note: str = "") -> Result:
    """Up, or degraded when slower than the component's threshold."""
    if latency_ms is not None and latency_ms > component.degraded_after_ms:
        return Result(State.DEGRADED, latency_ms, note or f"slower than {component.degraded_after_ms} ms")
    return Result(State.UP, latency_ms, note)


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))


def _failure(exc: BaseException) -> str:
    return f"check failed ({type(exc).__name__})"


def probe_web(component: Component) -> Result:
    """GET the liveness URL through the real web server."""
    url = urlsplit(settings.LEVQOR_STATUS_PROBE_URL)
    conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    started = time.perf_counter()
    conn = conn_class(url.hostname, url.port, timeout=PROBE_TIMEOUT)
    try:
        conn.request("GET", url.path or "/", headers={"User-Agent": "levqor-status-probe"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    latency = _elapsed_ms(started)
    if response.status >= 500:
        return Result(State.DOWN, latency, f"HTTP {response.status}")
    if response.status >= 400:
        return Result(State.DEGRADED, latency, f"HTTP {response.status}")
    return classify(component, latency)


def probe_database(component: Component) -> Result:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET statement_timeout = {int(PROBE_TIMEOUT * 1000)}")
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return classify(component, _elapsed_ms(started))


def probe_cache(component: Component) -> Result:
    started = time.perf_counter()
    token = str(time.time_ns())
    cache.set("status:probe:cache", token, 60)
    if cache.get("status:probe:cache") != token:
        return Result(State.DOWN, _elapsed_ms(started), "value written was not read back")
    return classify(component, _elapsed_ms(started))


def queue_result(beat_at: datetime | None, now: datetime) -> Result:
    """The task queue's state from the last heartbeat's age."""
    if beat_at is None:
        return Result(State.DOWN, None, "no worker heartbeat recorded")
    age = max(0, round((now - beat_at).total_seconds()))
    note = f"last heartbeat {age} s ago"
    if age > QUEUE_DOWN_AFTER:
        return Result(State.DOWN, None, note)
    if age > QUEUE_DEGRADED_AFTER:
        return Result(State.DEGRADED, None, note)
    return Result(State.UP, None, note)


def probe_queue(component: Component, *, now: datetime) -> Result:
    beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    return queue_result(beat, now)


def contact_result(component: Component, contact: ExternalContact | None, now: datetime) -> Result:
    """State from the last recorded real contact with an outside service."""
    if contact is None:
        return Result(State.UP, None, "no contact recorded yet")
    stale = now - contact.contacted_at > CONTACT_STALE_AFTER
    suffix = f" (last contact {contact.contacted_at:%Y-%m-%d %H:%M} UTC)" if stale else ""
    if not contact.ok:
        # The error code stays in ExternalContact.error, for staff only.
        return Result(State.DOWN, contact.latency_ms, "last call failed" + suffix)
    result = classify(component, contact.latency_ms)
    return Result(result.state, result.latency_ms, (result.note + suffix).strip())


def probe_stripe(component: Component, *, now: datetime) -> Result:
    return contact_result(component, ExternalContact.objects.filter(name="stripe").first(), now)


def probe_email(component: Component, *, now: datetime) -> Result:
    return contact_result(component, ExternalContact.objects.filter(name="email").first(), now)


def probe_workflows(component: Component) -> Result:
    """The time to read the workflows app's runs table (or a note that there is none yet)."""
    try:
        run_model = apps.get_model("workflows", "Run")
    except LookupError:
        return Result(State.UP, None, "no workflow runs table yet")
    started = time.perf_counter()
    list(run_model._default_manager.order_by().values_list("pk", flat=True)[:1])
    return classify(component, _elapsed_ms(started))


_PROBES: dict[str, Callable] = {
    Probe.WEB: probe_web,
    Probe.DATABASE: probe_database,
    Probe.CACHE: probe_cache,
    Probe.QUEUE: probe_queue,
    Probe.STRIPE: probe_stripe,
    Probe.EMAIL: probe_email,
    Probe.WORKFLOWS: probe_workflows,
}
# These read results already stored in our own tables: they run in the
# caller's thread. The others measure something live and get a thread each.
_STORED = {Probe.QUEUE, Probe.STRIPE, Probe.EMAIL}


def _run_one(component: Component, now: datetime) -> Result:
    fn = _PROBES.get(component.probe)
    if fn is None:
        return Result(State.UP, None, "not probed")
    try:
        return fn(component, now=now) if component.probe in _STORED else fn(component)
    except Exception as exc:
        logger.warning("status probe %s failed: %s", component.slug, type(exc).__name__)
        return Result(State.DOWN, None, _failure(exc))


def _run_in_thread(component: Component, now: datetime) -> Result:
    try:
        return _run_one(component, now)
    finally:
        connections.close_all()  # this thread's own connections only


def run_all(components: list[Component], *, now: datetime) -> dict[int, Result]:
    """Run every component's probe; live ones at once in threads, none
    waited for longer than PROBE_TIMEOUT. Returns {component id: Result}."""
    live = [c for c in components if c.probe not in _STORED]
    pool = ThreadPoolExecutor(max_workers=max(1, len(live)), thread_name_prefix="status-probe")
    try:
        futures = {c.pk: pool.submit(_run_in_thread, c, now) for c in live}
        results = {c.pk: _run_one(c, now) for c in components if c.probe in _STORED}
        deadline = time.monotonic() + PROBE_TIMEOUT
        for pk, future in futures.items():
            try:
                results[pk] = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                results[pk] = Result(State.DOWN, None, f"no answer within {PROBE_TIMEOUT:g} s")
        return results
    finally:
        # A hung probe keeps its thread; nobody waits for it.
        pool.shutdown(wait=False, cancel_futures=True)
