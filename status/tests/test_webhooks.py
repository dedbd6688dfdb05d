"""Status webhook subscribers, against a real HTTP server on 127.0.0.1 (the
outside world): the public form and the owner's confirmation, Statuspage's
payloads, the signature, retries with backoff, disabling after repeated
failures, exactly-once delivery with several workers; and per-component
choice for email subscribers."""

import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from compliance.models import OutboundEmail
from status import probes, services
from status.models import (
    Component,
    ComponentPublication,
    Impact,
    IncidentStatus,
    State,
    Subscriber,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscriber,
)
from status.tests.conftest import attention_row

pytestmark = pytest.mark.django_db


def verify(headers: dict, body: bytes, secret: str) -> bool:
    """What the README tells receivers to do."""
    parts = dict(item.split("=", 1) for item in headers["X-Levqor-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def link_in(message, path: str) -> str:
    return re.search(rf"http://testserver({path}\S+)", message.body).group(1)


def add_webhook(url, staff, *, email="owner@example.test", components=()) -> WebhookSubscriber:
    return services.webhook_subscriber_create(endpoint=url, email=email, components=components, actor=staff)


def open_incident(staff, capture, *, components=(), name="API errors"):
    with capture(execute=True):
        return services.incident_create(
            name=name,
            impact=Impact.MAJOR,
            body="Investigating.",
            components=[(c, "major_outage") for c in components],
            actor=staff,
        )


def test_a_webhook_needs_its_owners_confirmation_and_shows_its_secret_once(
    client, staff, components, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/status/subscribe",
            {"mode": "webhook", "endpoint": receiver.url, "email": "Owner@Example.test", "scope": "all"},
        )
    assert response.status_code == 200 and "Check your email" in response.content.decode()
    webhook = WebhookSubscriber.objects.get()
    assert (webhook.email, webhook.is_active) == ("owner@example.test", False)
    assert [m.subject for m in mail.outbox] == ["Confirm your Levqor status webhook"]
    assert webhook.secret not in mail.outbox[0].body

    open_incident(staff, django_capture_on_commit_callbacks)
    assert receiver.received == []  # nothing before the owner confirms

    confirm = link_in(mail.outbox[0], "/status/webhooks/confirm/")
    assert webhook.secret not in client.get(confirm).content.decode()  # a link scanner's GET confirms nothing
    page = client.post(confirm).content.decode()
    assert "shown only this once" in page and webhook.secret in page
    again = client.post(confirm).content.decode()
    assert webhook.secret not in again and "not shown again" in again

    with django_capture_on_commit_callbacks(execute=True):
        open_incident(staff, django_capture_on_commit_callbacks, name="Second")
    [(headers, body)] = receiver.received
    assert verify(headers, body, webhook.secret)
    assert json.loads(body)["incident"]["name"] == "Second"


def test_the_form_refuses_plain_http_private_addresses_and_non_urls(client, settings):
    settings.LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK = False
    for endpoint, message in (
        ("http://127.0.0.1:9/hook", "must use https://"),
        ("https://10.1.2.3/hook", "must be a public address"),
        ("https://169.254.169.254/latest", "must be a public address"),
        ("https://user:pw@example.test/hook", "user name or password"),
        ("not a url", "Enter a valid URL"),
    ):
        response = client.post(
            "/status/subscribe", {"mode": "webhook", "endpoint": endpoint, "email": "o@example.test"}
        )
        assert response.status_code == 400, endpoint
        assert message in response.content.decode(), endpoint
    assert not WebhookSubscriber.objects.exists() and mail.outbox == []


def test_incident_updates_arrive_in_statuspages_shape_signed_with_a_stable_delivery_id(
    client, staff, components, receiver, django_capture_on_commit_callbacks
):
    webhook = add_webhook(receiver.url, staff)
    incident = open_incident(staff, django_capture_on_commit_callbacks, components=[components["database"]])
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="Fixed.", actor=staff)

    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        assert headers["Content-Type"] == "application/json"
        assert verify(headers, body, webhook.secret)
        assert headers["X-Levqor-Delivery"] == headers["Idempotency-Key"]
    created, resolved = receiver.payloads()
    assert list(created) == ["meta", "page", "incident"]
    assert set(created["meta"]) == {"unsubscribe", "documentation"}
    assert set(created["page"]) == {"id", "status_indicator", "status_description"}
    assert set(resolved["incident"]) >= {
        "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
        "shortlink", "started_at", "page_id", "incident_updates", "components",
    }  # fmt: skip
    assert (created["incident"]["status"], resolved["incident"]["status"]) == ("investigating", "resolved")
    assert resolved["incident"]["id"] == incident.public_id
    assert [u["body"] for u in resolved["incident"]["incident_updates"]] == ["Fixed.", "Investigating."]
    assert [c["name"] for c in resolved["incident"]["components"]] == ["Database"]

    # meta.unsubscribe works (a POST, no CSRF token: the link authorises it).
    client.handler.enforce_csrf_checks = True
    response = client.post(created["meta"]["unsubscribe"].removeprefix("http://testserver"))
    assert response.status_code == 200 and "no more status webhooks" in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.unsubscribed_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(staff, django_capture_on_commit_callbacks)
    assert len(receiver.received) == 2


def test_a_late_fan_out_tells_each_update_as_it_was_posted(
    staff, components, receiver, django_capture_on_commit_callbacks
):
    """The payloads are built by tasks after commit: when they run late (here
    after the incident was already resolved), the "investigating" event still
    says investigating and knows nothing of the resolution."""
    add_webhook(receiver.url, staff)
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_create(
            name="API errors", impact=Impact.MAJOR, body="Investigating.", components=[], actor=staff
        )
        services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="Fixed.", actor=staff)
    created, resolved = sorted(receiver.payloads(), key=lambda p: len(p["incident"]["incident_updates"]))
    assert created["incident"]["status"] == "investigating" and created["incident"]["resolved_at"] is None
    assert [u["body"] for u in created["incident"]["incident_updates"]] == ["Investigating."]
    assert resolved["incident"]["status"] == "resolved" and resolved["incident"]["resolved_at"] is not None
    assert [u["body"] for u in resolved["incident"]["incident_updates"]] == ["Fixed.", "Investigating."]


def test_a_late_maintenance_fan_out_tells_it_started_not_completed(
    staff, components, receiver, django_capture_on_commit_callbacks
):
    add_webhook(receiver.url, staff)
    start = timezone.now() + timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = services.maintenance_create(
            name="DB upgrade",
            body="Upgrading.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            components=[components["database"]],
            actor=staff,
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.maintenance_advance(now=start + timedelta(minutes=1))
        services.maintenance_advance(now=start + timedelta(hours=1, minutes=1))
    statuses = [
        (p["incident"]["status"], [u["status"] for u in p["incident"]["incident_updates"]])
        for p in receiver.payloads()
        if p["incident"]["id"] == maintenance.public_id
    ]
    assert statuses == [
        ("scheduled", ["scheduled"]),
        ("in_progress", ["in_progress", "scheduled"]),
        ("completed", ["completed", "in_progress", "scheduled"]),
    ]
    # Each was told to subscribers, and the payload says so (as the manage API does).
    (completed,) = [p for p in receiver.payloads() if p["incident"]["status"] == "completed"]
    assert [u["deliver_notifications"] for u in completed["incident"]["incident_updates"]] == [True, True, True]


def test_a_component_change_is_published_once_to_those_who_chose_it(
    staff, components, stub_probes, receiver, django_capture_on_commit_callbacks
):
    everything = add_webhook(receiver.url, staff)
    add_webhook(receiver.url, staff, email="cache-only@example.test", components=[components["cache"]])
    now = timezone.now()
    services.heartbeat_beat(now=now)
    services.snapshot_take(now=now)
    assert services.component_changes_publish(now=now) == 0  # all operational, as last published (none yet)

    stub_probes["database"] = probes.Result(State.DOWN, None, "unreachable (OSError)")
    later = now + timedelta(minutes=5)
    services.heartbeat_beat(now=later)
    with django_capture_on_commit_callbacks(execute=True):
        services.snapshot_take(now=later)
        assert services.component_changes_publish(now=later) == 1
        assert services.component_changes_publish(now=later) == 0  # published once
    [(headers, body)] = receiver.received
    assert verify(headers, body, everything.secret)
    payload = json.loads(body)
    assert list(payload) == ["meta", "page", "component_update", "component"]
    update, component = payload["component_update"], payload["component"]
    database = Component.objects.get(slug="database")
    assert (update["old_status"], update["new_status"], update["component_id"]) == (
        "operational",
        "major_outage",
        database.public_id,
    )
    assert (component["id"], component["name"], component["status"]) == (database.public_id, "Database", "major_outage")
    assert payload["page"]["status_indicator"] in ("major", "critical")
    assert ComponentPublication.objects.get(component=database).status == "major_outage"


def test_a_failed_delivery_is_retried_with_backoff_and_keeps_its_delivery_id(
    staff, components, receiver, django_capture_on_commit_callbacks
):
    webhook = add_webhook(receiver.url, staff)
    receiver.answers = [500]
    open_incident(staff, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "webhook answered HTTP 500")
    assert services.webhook_deliveries_retry(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0  # not yet
    assert services.webhook_deliveries_retry(now=delivery.next_attempt_at) == 1
    assert services.webhook_deliveries_retry(now=delivery.next_attempt_at + timedelta(hours=1)) == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    (h1, b1), (h2, b2) = receiver.received
    assert h1["X-Levqor-Delivery"] == h2["X-Levqor-Delivery"] == f"levqor-webhook-{delivery.pk}"
    assert verify(h1, b1, webhook.secret) and verify(h2, b2, webhook.secret)
    assert h1["X-Levqor-Signature"] != h2["X-Levqor-Signature"]  # signed at each attempt's time
    webhook.refresh_from_db()
    assert (webhook.consecutive_failures, webhook.last_success_at) == (0, delivery.sent_at)


def test_a_webhook_failing_for_long_is_disabled_its_owner_emailed_once_and_staff_see_it(
    client, staff, components, receiver, settings, django_capture_on_commit_callbacks
):
    settings.LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_HOURS = 1
    webhook = add_webhook(receiver.url, staff)
    receiver.always = 503
    open_incident(staff, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    started = delivery.next_attempt_at - timedelta(minutes=1)
    tries = 1
    while True:
        delivery.refresh_from_db()
        webhook.refresh_from_db()
        if webhook.disabled_at or delivery.next_attempt_at is None:
            break
        with django_capture_on_commit_callbacks(execute=True):
            services.webhook_deliveries_retry(now=delivery.next_attempt_at)
        tries += 1
    # 1, 2, 4, ... minutes apart: three failures come fast, the hour needs seven.
    assert tries == 7 and webhook.disabled_at - started >= timedelta(hours=1)
    assert webhook.consecutive_failures == 7 and not webhook.is_active
    assert delivery.status == "failed" and delivery.next_attempt_at is None  # given up with it
    owner_mail = [m for m in mail.outbox if m.to == ["owner@example.test"]]
    assert [m.subject for m in owner_mail] == ["Your Levqor status webhook was disabled"]
    assert "HTTP 503" in owner_mail[0].body
    assert OutboundEmail.objects.filter(kind="status.webhook-disabled").count() == 1

    client.force_login(staff)
    count, url = attention_row(
        client.get("/admin/").content.decode(), "Status webhook subscribers disabled after repeated failures"
    )
    assert count == 1 and receiver.url in client.get(url).content.decode()

    # Disabled: new news is not even queued for it.
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(staff, django_capture_on_commit_callbacks, name="Later")
    assert WebhookDelivery.objects.count() == 1
    posts = len(receiver.received)

    # The owner fixes the endpoint and enables it again from the emailed link.
    receiver.always = None
    manage = link_in(owner_mail[0], "/status/subscription/")
    client.logout()
    assert "was disabled" in client.get(manage).content.decode()
    assert "enabled again" in client.post(manage, {"action": "enable"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(staff, django_capture_on_commit_callbacks, name="After the fix")
    assert len(receiver.received) == posts + 1
    assert json.loads(receiver.received[-1][1])["incident"]["name"] == "After the fix"


def test_each_delivery_is_claimed_once_whoever_sends_it(
    staff, components, receiver, django_capture_on_commit_callbacks
):
    add_webhook(receiver.url, staff)
    with django_capture_on_commit_callbacks(execute=False):  # the queue has not run yet
        incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", actor=staff)
    services.subscribers.notifications_send(update_id=incident.updates.get().pk)  # a lost task's re-run
    delivery = WebhookDelivery.objects.get()
    assert services.webhooks.webhook_delivery_send(delivery_id=delivery.pk) is True
    assert services.webhooks.webhook_delivery_send(delivery_id=delivery.pk) is False  # a second worker, a retried task
    assert services.webhook_deliveries_retry(now=timezone.now() + timedelta(hours=1)) == 0
    assert len(receiver.received) == 1 and WebhookEvent.objects.count() == 1


def _race(fn, n: int = 4) -> list:
    from django.db import close_old_connections, connection

    results, barrier = [], threading.Barrier(n)

    def run():
        try:
            barrier.wait()
            results.append(fn())
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_post_each_webhook_once_and_publish_a_change_once(staff, components, stub_probes, receiver):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    for n in range(3):
        add_webhook(receiver.url, staff, email=f"owner{n}@example.test")
    now = timezone.now()
    services.heartbeat_beat(now=now)
    services.snapshot_take(now=now)
    # The cache is found down (stored as a snapshot would, without the
    # snapshot's own on-call alert, whose draft incident publishes at once).
    later = now + timedelta(minutes=5)
    services.heartbeat_beat(now=later)
    Component.objects.filter(probe__gt="").update(checked_at=later)
    Component.objects.filter(slug="cache").update(state=State.DOWN, note="unreachable (OSError)")
    # Every worker publishes (the snapshot task, the on-commit calls) and
    # then sweeps what is due, all at the same moment.
    results = _race(lambda: (services.component_changes_publish(now=later), services.webhook_deliveries_retry()))
    assert sorted(published for published, _ in results) == [0, 0, 0, 1]
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.filter(status="sent").count() == 3
    ids = sorted(headers["X-Levqor-Delivery"] for headers, _ in receiver.received)
    assert len(ids) == 3 and len(set(ids)) == 3  # each subscriber once

    # Four workers sweep again: nothing is due, nothing is sent twice.
    assert sum(_race(services.webhook_deliveries_retry)) == 0
    assert len(receiver.received) == 3


# --- Email subscribers choose components ---------------------------------------------------


def confirmed(email: str, components=()) -> Subscriber:
    subscriber = Subscriber.objects.create(email=email, confirmed_at=timezone.now() - timedelta(minutes=1))
    subscriber.components.set(components)
    return subscriber


def test_email_subscribers_hear_only_about_the_components_they_chose(
    staff, components, django_capture_on_commit_callbacks
):
    confirmed("all@example.test")
    confirmed("db@example.test", [components["database"]])
    open_incident(staff, django_capture_on_commit_callbacks, components=[components["cache"]], name="Cache slow")
    open_incident(staff, django_capture_on_commit_callbacks, components=[components["database"]], name="DB down")
    open_incident(staff, django_capture_on_commit_callbacks, name="Everything odd")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.maintenance_create(
            name="Cache swap",
            body="b",
            scheduled_for=now + timedelta(days=3),
            scheduled_until=now + timedelta(days=3, hours=1),
            components=[components["cache"]],
            actor=staff,
        )
    got = {}
    for message in mail.outbox:
        got.setdefault(message.to[0], []).append(message.subject.removeprefix("[Levqor status] "))
    assert got == {
        "all@example.test": [
            "Cache slow: Investigating",
            "DB down: Investigating",
            "Everything odd: Investigating",
            "Scheduled maintenance: Cache swap",
        ],
        "db@example.test": ["DB down: Investigating", "Everything odd: Investigating"],
    }


def test_subscribers_choose_components_when_subscribing_and_change_them_from_any_email(
    client, staff, components, django_capture_on_commit_callbacks
):
    database, cache = components["database"], components["cache"]
    page = client.get("/status/subscribe").content.decode()
    assert "All components, including any added later" in page and "Only the components I tick" in page
    response = client.post("/status/subscribe", {"email": "picky@example.test", "scope": "some"})
    assert response.status_code == 400 and "Tick at least one component" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/status/subscribe", {"email": "picky@example.test", "scope": "some", "components": [database.pk]})
    client.post(link_in(mail.outbox[-1], "/status/subscribe/confirm/"))
    subscriber = Subscriber.objects.get()
    assert list(subscriber.components.all()) == [database] and subscriber.is_active
    mail.outbox.clear()

    open_incident(staff, django_capture_on_commit_callbacks, components=[database])
    manage = link_in(mail.outbox[0], "/status/subscription/")
    form = client.get(manage).content.decode()
    assert re.search(r'value="some"[^>]*checked', form)
    assert re.search(rf'value="{database.pk}"[^>]*checked', form)
    client.post(manage, {"action": "components", "scope": "some", "components": [cache.pk]})
    assert list(subscriber.components.all()) == [cache]
    response = client.post(manage, {"action": "components", "scope": "all"})
    assert "every component" in response.content.decode()
    assert not subscriber.components.exists()

    assert "no more incident emails" in client.post(manage, {"action": "unsubscribe"}).content.decode()
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert client.get(manage.replace("/subscription/", "/subscription/x")).status_code == 400


def test_erasing_a_person_removes_the_webhooks_they_own(customer, staff, receiver):
    from compliance.dsar import providers

    add_webhook(receiver.url, staff, email=customer.email)
    add_webhook(receiver.url, staff, email="someone-else@example.test")
    erase = dict(providers.erasers())["status"]
    assert erase(user=customer, actor=staff) == {"status_subscribers": 0, "status_webhook_subscribers": 1}
    assert list(WebhookSubscriber.objects.values_list("email", flat=True)) == ["someone-else@example.test"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_remind_of_a_maintenance_once_by_email_and_webhook(staff, components, receiver):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    webhook = add_webhook(receiver.url, staff, components=[components["database"]])
    confirmed("reader@example.test")
    now = timezone.now()
    start = now + timedelta(days=2)
    maintenance = services.maintenance_create(
        name="Database upgrade",
        body="One restart.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[components["database"]],
        at=now,
        actor=staff,
    )
    mail.outbox.clear()
    announced = len(receiver.received)
    at = start - timedelta(minutes=55)
    assert sorted(_race(lambda: services.maintenance_reminders_send(now=at))) == [0, 0, 0, 1]
    assert sum(_race(lambda: services.subscribers.notifications_sweep(now=at))) == 0  # the sweeps add nothing
    assert [m.subject for m in mail.outbox] == ["[Levqor status] Maintenance starts in an hour: Database upgrade"]
    reminders = receiver.received[announced:]
    assert len(reminders) == 1 and verify(*reminders[0], webhook.secret)
    incident = json.loads(reminders[0][1])["incident"]
    assert (incident["id"], incident["status"]) == (maintenance.public_id, "scheduled")
    assert incident["scheduled_for"] is not None


def test_staff_add_a_webhook_in_admin_and_see_its_secret_once(staff_client, components, receiver):
    response = staff_client.post(
        "/admin/status/webhooksubscriber/add/",
        {"endpoint": receiver.url, "email": "partner@example.test", "components": [components["web"].pk]},
        follow=True,
    )
    webhook = WebhookSubscriber.objects.get()
    assert webhook.is_active and list(webhook.components.all()) == [components["web"]]
    assert f"(shown only now; give it to the owner): {webhook.secret}" in response.content.decode()
    assert (
        webhook.secret not in staff_client.get(f"/admin/status/webhooksubscriber/{webhook.pk}/change/").content.decode()
    )


def test_old_webhook_events_go_once_nothing_is_left_to_send(
    staff, components, receiver, django_capture_on_commit_callbacks
):
    add_webhook(receiver.url, staff)
    receiver.answers = [500]
    open_incident(staff, django_capture_on_commit_callbacks)  # fails once: a retry is due
    later = timezone.now() + timedelta(days=31)
    assert services.webhook_events_prune(now=later) == 0  # still to be retried
    services.webhook_deliveries_retry(now=later)
    assert services.webhook_events_prune(now=later) == 1
    assert not WebhookDelivery.objects.exists()
