"""On-call alerting: outages and stale monitoring alert once per change of
state (email and a webhook received by a real loopback HTTP server), with a
recovery notice once, a draft incident, and the watchdog for a dead worker."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from compliance.models import OutboundEmail
from status import probes, services
from status.models import Alert, AlertDelivery, Component, Incident, State
from status.tests.conftest import attention_row

ONCALL = "oncall@levqor.test"


class Hook:
    """A Slack-compatible webhook receiver on 127.0.0.1 (the outside world)."""

    def __init__(self):
        self.received: list[dict] = []
        self.answer = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                hook.received.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.answer)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/oncall"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> list[str]:
        return [item["text"] for item in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook(settings):
    receiver = Hook()
    settings.LEVQOR_ONCALL_EMAILS = [ONCALL]
    settings.LEVQOR_ONCALL_WEBHOOK_URL = receiver.url
    yield receiver
    receiver.close()


def oncall_mail() -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [ONCALL]]


def oncall_emails():
    return OutboundEmail.objects.filter(kind="status.oncall-alert")


def wait_until_delivered(expected: int, timeout: float = 10.0) -> None:
    """The web process delivers from a background thread: wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hooks = AlertDelivery.objects.filter(status=AlertDelivery.Status.SENT).count()
        if hooks + oncall_emails().filter(status="sent").count() >= expected:
            return
        time.sleep(0.05)
    raise AssertionError(f"{expected} deliveries were not sent within {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_it_alerts_once_when_the_worker_stops_and_once_when_it_recovers(client, components, stub_probes, hook):
    # The worker beat and took a snapshot, then stopped: 20 minutes ago on the clock.
    stopped = timezone.now() - timedelta(minutes=20)
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)
    assert hook.received == [] and oncall_mail() == []

    health = client.get("/api/status/health")
    assert health.status_code == 503
    assert health.json()["ok"] is False
    assert health.json()["components"]["queue"] == {"ok": False, "status": "down", "latencyMs": None}
    ietf = client.get("/api/status/health", HTTP_ACCEPT="application/health+json")
    assert ietf.status_code == 503 and "monitoring delayed since" in ietf.json()["output"]
    assert "result not current" in ietf.json()["checks"]["web:responseTime"][0]["output"]
    listed = {c["name"]: c["status"] for c in client.get("/api/v2/components.json").json()["components"]}
    assert listed["Task queue"] == "major_outage"
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] != "none"
    page = client.get("/status").content.decode()
    assert "Monitoring delayed" in page
    assert f'delayed since <time datetime="{timezone.localtime(stopped):%Y-%m-%dT%H}' in page

    # The web process found the results stale and raised the alert itself.
    wait_until_delivered(2)
    assert oncall_mail() == ["[Levqor on-call] Status monitoring is stale"]
    assert len(hook.received) == 1 and hook.texts()[0].startswith("[Levqor on-call] Status monitoring is stale")
    alert = Alert.objects.get()
    assert alert.raised_by == "web" and alert.incident.draft

    # Any number of further reads and watchdog runs tell nobody again.
    client.get("/api/status/health")
    call_command("status_watchdog")
    services.watchdog_run(now=timezone.now() + timedelta(minutes=1))
    assert len(oncall_mail()) == 1 and len(hook.received) == 1

    # The worker comes back: the next snapshot tells on-call it recovered, once.
    services.heartbeat_beat()
    services.snapshot_take()
    call_command("status_watchdog")
    services.heartbeat_beat(now=timezone.now() + timedelta(minutes=5))
    services.snapshot_take(now=timezone.now() + timedelta(minutes=5))
    assert oncall_mail()[1:] == ["[Levqor on-call] Recovered: Status monitoring"]
    assert len(hook.received) == 2 and "Recovered: Status monitoring" in hook.texts()[1]
    assert client.get("/api/status/health").status_code == 200
    assert "Monitoring delayed" not in client.get("/status").content.decode()


def test_it_alerts_when_a_component_goes_down_with_a_draft_incident_and_recovers_once(
    client, components, stub_probes, hook
):
    now = timezone.now()
    services.heartbeat_beat(now=now)
    services.snapshot_take(now=now)
    stub_probes["web"] = probes.Result(State.DOWN, None, "HTTP 502")

    later = now + timedelta(minutes=5)
    services.heartbeat_beat(now=later)
    services.snapshot_take(now=later)
    services.oncall_check(now=later, raised_by="test")  # a second checker: nothing more

    assert oncall_mail() == ["[Levqor on-call] Web/API is down"]
    assert "HTTP 502" in mail.outbox[-1].body and "NOT published" in mail.outbox[-1].body
    assert hook.texts() == [Alert.objects.get().subject + "\n" + Alert.objects.get().text]
    draft = Incident.objects.get()
    assert draft.draft and draft.affected.get().component.slug == "web"
    # The draft is staff's, not the public's.
    assert client.get("/api/v2/incidents.json").json()["incidents"] == []

    stub_probes["web"] = probes.Result(State.UP, 40, "")
    back = later + timedelta(minutes=5)
    services.heartbeat_beat(now=back)
    services.snapshot_take(now=back)
    services.watchdog_run(now=back)
    assert oncall_mail()[1:] == ["[Levqor on-call] Recovered: Web/API"]
    assert len(hook.received) == 2


def test_the_watchdog_raises_the_alert_when_nothing_else_runs_and_twice_is_once(components, stub_probes, hook):
    stopped = timezone.now()
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)
    assert services.watchdog_run(now=stopped + timedelta(minutes=2))["raised"] == 0  # one missed beat: degraded

    # Three missed heartbeats: the task queue is down.
    queue_down = stopped + timedelta(minutes=4)
    assert services.watchdog_run(now=queue_down)["raised"] == 1
    assert services.watchdog_run(now=queue_down)["raised"] == 0
    # Two probe intervals without results: monitoring is stale.
    late = stopped + timedelta(minutes=11)
    assert services.watchdog_run(now=late)["raised"] == 1
    assert services.watchdog_run(now=late)["raised"] == 0
    assert services.watchdog_run(now=late + timedelta(minutes=1))["raised"] == 0
    assert oncall_mail() == ["[Levqor on-call] Task queue is down", "[Levqor on-call] Status monitoring is stale"]
    assert set(Alert.objects.values_list("raised_by", flat=True)) == {"watchdog"}


def test_a_failed_webhook_is_recorded_in_needs_attention_and_retried(client, staff, components, stub_probes, hook):
    hook.answer = 500
    stopped = timezone.now() - timedelta(minutes=30)
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)
    now = timezone.now()
    services.watchdog_run(now=now)

    failed = AlertDelivery.objects.get()
    assert failed.status == AlertDelivery.Status.FAILED
    assert failed.last_error == "webhook answered HTTP 500"
    assert oncall_emails().get().status == "sent"

    client.force_login(staff)
    count, url = attention_row(client.get("/admin/").content.decode(), "On-call webhook alerts that failed to deliver")
    assert count == 1
    assert "webhook answered HTTP 500" in client.get(url).content.decode()

    hook.answer = 200
    assert services.deliveries_retry(now=now + timedelta(seconds=30)) == 0  # backoff: not yet
    assert services.deliveries_retry(now=now + timedelta(minutes=2)) == 1
    assert services.deliveries_retry(now=now + timedelta(minutes=3)) == 0
    assert len(hook.received) == 2  # the failed POST and the retry that worked
    assert services.delivery_failed_count() == 0


def test_an_oncall_email_is_an_outbox_email_retried_by_the_watchdog_without_the_queue(
    client, staff, components, stub_probes, settings, django_capture_on_commit_callbacks
):
    settings.LEVQOR_ONCALL_EMAILS = [ONCALL, "second@levqor.test"]
    settings.LEVQOR_ONCALL_WEBHOOK_URL = ""
    settings.EMAIL_BACKEND = "status.tests.backends.UnreachableBackend"
    stopped = timezone.now() - timedelta(minutes=30)
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):  # the task queue is down: nothing runs it
        assert services.watchdog_run(now=now)["raised"] == 1
    alert = Alert.objects.get()
    emails = oncall_emails().order_by("stage")
    assert [(e.stage, e.to, e.about_id, e.status, e.attempts) for e in emails] == [
        (ONCALL, ONCALL, str(alert.pk), "queued", 1),
        ("second@levqor.test", "second@levqor.test", str(alert.pk), "queued", 1),
    ]
    assert AlertDelivery.objects.count() == 0  # the webhook is the only delivery row
    client.force_login(staff)
    count, _ = attention_row(client.get("/admin/").content.decode(), "Emails failing, being retried")
    assert count == 2
    assert ONCALL in client.get(f"/admin/status/alert/{alert.pk}/change/").content.decode()

    # The provider is back; the watchdog (cron) sends them when due, once.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    assert services.watchdog_run(now=now + timedelta(minutes=1))["retried"] == 0  # back-off
    due = max(e.next_attempt_at for e in emails)
    assert services.watchdog_run(now=due)["retried"] == 2
    assert services.watchdog_run(now=due + timedelta(hours=1))["retried"] == 0
    assert oncall_mail() == ["[Levqor on-call] Status monitoring is stale"]
    assert len(mail.outbox) == 2 and "NOT published" in mail.outbox[0].body


def test_an_unreachable_webhook_says_it_was_not_reached(components, stub_probes, settings):
    settings.LEVQOR_ONCALL_EMAILS = []
    settings.LEVQOR_ONCALL_WEBHOOK_URL = "http://127.0.0.1:9/closed"
    stopped = timezone.now() - timedelta(minutes=30)
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)

    started = time.monotonic()
    services.watchdog_run()

    assert time.monotonic() - started < 5
    delivery = AlertDelivery.objects.get()
    assert delivery.status == AlertDelivery.Status.FAILED
    assert delivery.last_error.startswith("could not reach the webhook")


def test_stale_monitoring_is_on_the_admin_index_with_the_components_not_checked(client, staff, components, stub_probes):
    stopped = timezone.now() - timedelta(minutes=15)
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)
    client.force_login(staff)

    count, url = attention_row(
        client.get("/admin/").content.decode(), "Monitoring gone stale (components not checked for 10+ minutes)"
    )

    assert count == Component.objects.exclude(slug="queue").count() == 6
    listing = client.get(url).content.decode()
    assert "Web/API" in listing and "Workflows" in listing

    services.heartbeat_beat()
    services.snapshot_take()
    count, _ = attention_row(
        client.get("/admin/").content.decode(), "Monitoring gone stale (components not checked for 10+ minutes)"
    )
    assert count == 0


def test_staff_publish_a_draft_incident_in_one_click(client, staff, components, stub_probes, hook):
    now = timezone.now()
    services.heartbeat_beat(now=now)
    services.snapshot_take(now=now)
    stub_probes["database"] = probes.Result(State.DOWN, None, "check failed (OperationalError)")
    services.heartbeat_beat(now=now + timedelta(minutes=5))
    services.snapshot_take(now=now + timedelta(minutes=5))
    draft = Incident.objects.get()
    client.force_login(staff)

    count, url = attention_row(
        client.get("/admin/").content.decode(), "Draft incidents from on-call alerts (publish or discard)"
    )
    assert count == 1
    change = client.get(f"/admin/status/incident/{draft.pk}/change/").content.decode()
    assert f'formaction="/admin/status/incident/{draft.pk}/publish/"' in change
    assert "Database unavailable" in client.get(url).content.decode()

    response = client.post(f"/admin/status/incident/{draft.pk}/publish/")

    assert response.status_code == 302
    draft.refresh_from_db()
    assert not draft.draft and draft.published_at is not None
    published = client.get("/api/v2/incidents/unresolved.json").json()["incidents"]
    assert [i["name"] for i in published] == ["Database unavailable"]
    client.post(f"/admin/status/incident/{draft.pk}/publish/")  # twice: published once
    assert Incident.objects.filter(draft=False).count() == 1


def test_banners_tell_the_same_truth_as_the_status_page(client, components, stub_probes):
    now = timezone.now()
    services.heartbeat_beat(now=now)
    stub_probes["web"] = probes.Result(State.DOWN, None, "HTTP 502")
    services.snapshot_take(now=now)

    assert "Service problem detected: Web/API" in client.get("/pricing").content.decode()

    Component.objects.update(checked_at=now - timedelta(minutes=30))
    from django.core.cache import caches

    from levqor.lib.cache import clear_own_keys

    clear_own_keys(caches["default"])  # not clear(): parallel workers share one Redis database
    assert "Status monitoring delayed since" in client.get("/pricing").content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_alerts_once_when_four_processes_check_at_the_same_moment(components, stub_probes, hook):
    from django.db import close_old_connections, connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    stopped = timezone.now() - timedelta(minutes=30)
    services.heartbeat_beat(now=stopped)
    services.snapshot_take(now=stopped)
    now = timezone.now()
    results, barrier = [], threading.Barrier(4)

    def run():
        try:
            barrier.wait()
            results.append(len(services.oncall_check(now=now, raised_by="race")))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results) == [0, 0, 0, 1]
    assert Alert.objects.count() == 1 and Incident.objects.count() == 1
    assert oncall_mail() == ["[Levqor on-call] Status monitoring is stale"] and len(hook.received) == 1
