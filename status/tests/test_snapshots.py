import http.server
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django_q.tasks import async_task, result

from compliance import mail
from status import probes, services
from status.models import Component, ExternalContact, Heartbeat, Snapshot, SnapshotRun, State

from .conftest import take

pytestmark = pytest.mark.django_db


def test_it_records_one_snapshot_per_component_per_bucket(components, stub_probes, now):
    services.heartbeat_beat(now=now)

    first = take(now)
    second = take(now + timedelta(minutes=2))  # same 5-minute bucket

    assert first == 7 and second is None
    assert Snapshot.objects.count() == 7
    assert set(Snapshot.objects.values_list("taken_at", flat=True)) == {now.replace(minute=0, second=0)}
    web = Component.objects.get(slug="web")
    assert (web.state, web.latency_ms, web.checked_at) == (State.UP, 40, now)
    assert take(now + timedelta(minutes=5)) == 7
    assert Snapshot.objects.count() == 14 and SnapshotRun.objects.count() == 2


def test_it_runs_through_the_queue_and_the_command_twice_with_one_effect(components, stub_probes, capsys):
    assert result(async_task("status.tasks.snapshot_take")) == 7
    assert result(async_task("status.tasks.snapshot_take")) is None
    call_command("status_snapshot")
    assert "already has its snapshot" in capsys.readouterr().out
    assert Snapshot.objects.count() == 7


def test_it_marks_a_component_degraded_above_its_latency_threshold(components, stub_probes, now):
    Component.objects.filter(slug="database").update(degraded_after_ms=250)
    stub_probes["database"] = probes.Result(State.UP, 400, "")
    database = Component.objects.get(slug="database")
    stub = probes._PROBES["database"]
    probes._PROBES["database"] = lambda c: probes.classify(c, stub(c).latency_ms)
    try:
        take(now)
    finally:
        probes._PROBES["database"] = stub
    database.refresh_from_db()
    assert database.state == State.DEGRADED
    assert database.note == "slower than 250 ms"


@pytest.mark.realtime
def test_it_gives_up_on_a_hung_probe_after_two_seconds(components, stub_probes, now, monkeypatch):
    monkeypatch.setitem(probes._PROBES, "web", lambda c: time.sleep(6))
    started = time.monotonic()
    take(now)
    assert time.monotonic() - started < 2.6
    web = Component.objects.get(slug="web")
    assert web.state == State.DOWN and web.note == "no answer within 2 s"


def test_it_keeps_exception_messages_out_of_notes(components, stub_probes, now, monkeypatch):
    def leaky(component):
        raise RuntimeError("could not connect: password=hunter2 host=db.internal")

    monkeypatch.setitem(probes._PROBES, "cache", leaky)
    take(now)
    cache_row = Component.objects.get(slug="cache")
    assert cache_row.state == State.DOWN
    assert cache_row.note == "check failed (RuntimeError)"


def test_the_real_database_and_cache_probes_answer(components):
    db, cache_ = Component.objects.get(slug="database"), Component.objects.get(slug="cache")
    results = probes.run_all([db, cache_], now=None)
    assert results[db.pk].state == State.UP and results[db.pk].latency_ms is not None
    assert results[cache_.pk].state == State.UP


def test_the_web_probe_fetches_the_liveness_url(components, settings):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/-/ping" else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    web = Component.objects.get(slug="web")
    try:
        settings.LEVQOR_STATUS_PROBE_URL = f"http://127.0.0.1:{server.server_port}/-/ping"
        assert probes.probe_web(web).state == State.UP
        settings.LEVQOR_STATUS_PROBE_URL = f"http://127.0.0.1:{server.server_port}/broken"
        broken = probes.probe_web(web)
        assert (broken.state, broken.note) == (State.DOWN, "HTTP 500")
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings.LEVQOR_STATUS_PROBE_URL = f"http://127.0.0.1:{closed}/-/ping"
    assert probes.run_all([web], now=None)[web.pk].state == State.DOWN


@pytest.mark.parametrize(
    ("age", "state"), [(None, State.DOWN), (30, State.UP), (121, State.DEGRADED), (181, State.DOWN)]
)
def test_it_judges_the_task_queue_by_its_heartbeat(now, age, state):
    beat = None if age is None else now - timedelta(seconds=age)
    assert probes.queue_result(beat, now).state == state


def test_the_heartbeat_task_keeps_one_row(db):
    result(async_task("status.tasks.heartbeat_beat"))
    result(async_task("status.tasks.heartbeat_beat"))
    assert Heartbeat.objects.count() == 1


def test_it_reads_stripe_from_the_last_recorded_contact_without_calling_it(components, now, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a probe tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    stripe = Component.objects.get(slug="stripe")
    assert probes.probe_stripe(stripe, now=now).note == "no contact recorded yet"

    services.stripe_contact_record(ok=True, latency_ms=350)
    assert probes.probe_stripe(stripe, now=now + timedelta(seconds=1)).state == State.UP
    services.stripe_contact_record(ok=True, latency_ms=2500)
    assert probes.probe_stripe(stripe, now=now).state == State.DEGRADED
    services.stripe_contact_record(ok=False, latency_ms=2000, error="api_connection_error")
    down = probes.probe_stripe(stripe, now=now)
    assert (down.state, down.note) == (State.DOWN, "last call failed")
    contact = ExternalContact.objects.get(name="stripe")
    assert contact.error == "api_connection_error" and contact.last_ok_at is not None


def test_it_never_lets_a_contact_record_break_the_caller(db, monkeypatch):
    from django.db import DatabaseError

    def broken(*args, **kwargs):
        raise DatabaseError("boom")

    monkeypatch.setattr(ExternalContact.objects, "filter", broken)
    services.stripe_contact_record(ok=True, latency_ms=10)  # no exception


def test_each_real_email_send_is_the_email_probe(components):
    mail.send(
        "status-subscribe-confirm",
        to="a@b.test",
        context={"confirm_url": "x", "status_url": "y"},
        purpose="transactional",
    )
    contact = ExternalContact.objects.get(name="email")
    assert contact.ok and contact.latency_ms is not None
