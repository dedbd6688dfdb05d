import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_q.tasks import async_task, result

from status import services
from status.models import Impact, IncidentStatus, Notification, Subscriber
from status.tests.conftest import attention_row

pytestmark = pytest.mark.django_db


def link_in(message, path: str) -> str:
    return re.search(rf"http://testserver({path}\S+)", message.body).group(1)


def subscribe(client, email, capture):
    with capture(execute=True):
        response = client.post("/status/subscribe", {"email": email})
    assert response.status_code == 200
    return response


@pytest.fixture
def subscribed(client, django_capture_on_commit_callbacks):
    subscribe(client, "reader@example.test", django_capture_on_commit_callbacks)
    confirm = link_in(mail.outbox[-1], "/status/subscribe/confirm/")
    client.post(confirm)
    mail.outbox.clear()
    return Subscriber.objects.get(email="reader@example.test")


def test_it_takes_a_double_opt_in(client, django_capture_on_commit_callbacks):
    response = subscribe(client, "Reader@Example.test", django_capture_on_commit_callbacks)
    assert "Check your email" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "reader@example.test" and not subscriber.is_active
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reader@example.test"]
    confirm = link_in(mail.outbox[0], "/status/subscribe/confirm/")

    assert client.get(confirm).status_code == 200  # a link scanner's GET confirms nothing
    subscriber.refresh_from_db()
    assert not subscriber.is_active

    assert "You are subscribed" in client.post(confirm).content.decode()
    assert client.post(confirm).status_code == 200  # twice is fine
    subscriber.refresh_from_db()
    assert subscriber.is_active


def test_it_rejects_a_bad_address_or_token_without_a_write(client):
    assert client.post("/status/subscribe", {"email": "not-an-address"}).status_code == 400
    assert client.post("/status/subscribe/confirm/forged:token").status_code == 400
    assert client.post("/status/unsubscribe/forged:token").status_code == 400
    assert not Subscriber.objects.exists() and mail.outbox == []


def test_it_sends_at_most_one_confirmation_every_ten_minutes(client, django_capture_on_commit_callbacks):
    subscribe(client, "a@example.test", django_capture_on_commit_callbacks)
    subscribe(client, "a@example.test", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_an_expired_confirmation_link_is_refused(client, django_capture_on_commit_callbacks, settings):
    subscribe(client, "late@example.test", django_capture_on_commit_callbacks)
    confirm = link_in(mail.outbox[0], "/status/subscribe/confirm/")
    from unittest import mock

    later = timezone.now().timestamp() + 8 * 24 * 3600
    with mock.patch("time.time", return_value=later):
        assert client.post(confirm).status_code == 400
    assert not Subscriber.objects.get().is_active


def test_subscribers_get_creation_notified_updates_and_resolution_once_each(
    subscribed, staff, components, django_capture_on_commit_callbacks
):
    Subscriber.objects.create(email="pending@example.test")  # never confirmed
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_create(name="API errors", impact=Impact.MAJOR, body="Investigating.", actor=staff)
        services.incident_update(incident=incident, status=IncidentStatus.IDENTIFIED, body="Quiet note.", actor=staff)
        notified = services.incident_update(
            incident=incident, status=IncidentStatus.MONITORING, body="Fix deployed.", notify=True, actor=staff
        )
        services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="Resolved.", actor=staff)

    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "[Levqor status] API errors: Investigating",
        "[Levqor status] API errors: Monitoring",
        "[Levqor status] API errors: Resolved",
    ]
    assert all(m.to == ["reader@example.test"] for m in mail.outbox)
    # The queue runs the same job again (a retry, a second worker): nothing more is sent.
    assert result(async_task(services.notifications_send, update_id=notified.pk)) == 0
    assert len(mail.outbox) == 3
    assert Notification.objects.filter(sent_at__isnull=False).count() == 3


def test_every_notification_has_one_click_unsubscribe(
    client, subscribed, staff, components, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_create(name="Slow", impact=Impact.MINOR, body="Slow.", actor=staff)
    message = mail.outbox[0]
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.startswith("http://testserver/status/unsubscribe/") and link in message.body

    client.handler.enforce_csrf_checks = True  # mail clients POST without a CSRF token (RFC 8058)
    response = client.post(link.removeprefix("http://testserver"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscribed.refresh_from_db()
    assert subscribed.unsubscribed_at is not None

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="ok", actor=staff)
    assert mail.outbox == []


def test_it_keeps_a_failed_send_visible_and_the_retry_sends_it_once(subscribed, staff, components, settings, client):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "status.tests.backends.UnreachableBackend"
    with pytest.raises(RuntimeError, match="1 notification"):
        services.notifications_send(update_id=update.pk)
    failed = Notification.objects.get()
    assert failed.sent_at is None and failed.failed_at is not None
    assert failed.error == "send failed (ConnectionRefusedError)"

    client.force_login(staff)
    count, url = attention_row(
        client.get("/admin/").content.decode(), "Status emails to subscribers that failed to send"
    )
    assert count == 1
    assert "reader@example.test" in client.get(url).content.decode()

    settings.EMAIL_BACKEND = backend
    assert services.notifications_send(update_id=update.pk) == 1
    assert services.notifications_send(update_id=update.pk) == 0
    assert len(mail.outbox) == 1
    assert services.notification_failed_count() == 0


def test_someone_who_subscribes_after_an_update_is_not_sent_it(subscribed, staff, components):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    Subscriber.objects.create(email="new@example.test", confirmed_at=timezone.now() + timedelta(seconds=5))
    assert services.notifications_send(update_id=update.pk) == 1


def test_staff_can_unsubscribe_an_address_in_admin(staff_client, subscribed):
    from django.urls import reverse

    staff_client.post(
        reverse("admin:status_subscriber_changelist"),
        {"action": "unsubscribe", "_selected_action": [subscribed.pk], "apply": "1"},
    )
    subscribed.refresh_from_db()
    assert subscribed.unsubscribed_at is not None


def test_erasing_a_person_removes_their_subscription(customer, staff):
    from compliance.dsar import providers

    Subscriber.objects.create(email=customer.email.upper(), confirmed_at=timezone.now())
    Subscriber.objects.create(email="someone-else@example.test")
    erase = dict(providers.erasers())["status"]

    assert erase(user=customer, actor=staff) == {"status_subscribers": 1, "status_notifications": 0}
    assert erase(user=customer, actor=staff) == {"status_subscribers": 0, "status_notifications": 0}
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["someone-else@example.test"]


def test_it_limits_sign_ups_per_client_address(client, django_capture_on_commit_callbacks):
    from status.views import SUBSCRIBE_LIMIT

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(SUBSCRIBE_LIMIT):
            assert client.post("/status/subscribe", {"email": f"p{n}@example.test"}).status_code == 200
        response = client.post("/status/subscribe", {"email": "one-more@example.test"})
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert not Subscriber.objects.filter(email="one-more@example.test").exists()
    assert len(mail.outbox) == SUBSCRIBE_LIMIT


def test_it_emails_scheduled_maintenance_when_announced_and_when_it_starts_once_each(
    subscribed, staff, components, django_capture_on_commit_callbacks
):
    now = timezone.now()
    start, end = now + timedelta(days=3), now + timedelta(days=3, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = services.maintenance_create(
            name="Database upgrade",
            body="The database restarts once.",
            scheduled_for=start,
            scheduled_until=end,
            components=[components["database"]],
            at=now,
            actor=staff,
        )
    assert [m.subject for m in mail.outbox] == ["[Levqor status] Scheduled maintenance: Database upgrade"]
    assert "Affects: Database" in mail.outbox[0].body and "restarts once" in mail.outbox[0].body
    assert mail.outbox[0].to == ["reader@example.test"]

    with django_capture_on_commit_callbacks(execute=True):
        assert services.maintenance_advance(now=start) == (1, 0)
        assert services.maintenance_advance(now=start) == (0, 0)
    assert services.notifications_sweep(now=start) == 0  # nothing sent twice
    assert [m.subject for m in mail.outbox][1:] == ["[Levqor status] Maintenance started: Database upgrade"]

    with django_capture_on_commit_callbacks(execute=True):
        services.maintenance_advance(now=end)
    assert len(mail.outbox) == 2
    assert Notification.objects.filter(maintenance_update__maintenance=maintenance, sent_at__isnull=False).count() == 2


def test_staff_retry_a_failed_status_email_from_admin(subscribed, staff, components, settings, client):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "status.tests.backends.UnreachableBackend"
    for _ in range(5):  # the sweep gives up after 5 attempts
        with pytest.raises(RuntimeError):
            services.notifications_send(update_id=update.pk)
    assert Notification.objects.get().attempts == 5
    settings.EMAIL_BACKEND = backend
    assert services.notifications_sweep() == 0  # given up: only staff can send it again

    client.force_login(staff)
    failed = Notification.objects.get()
    response = client.post(
        "/admin/status/notification/", {"action": "retry", "_selected_action": [failed.pk]}, follow=True
    )

    assert "1 failed email(s) queued to be sent again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.sent_at is not None and failed.failed_at is None
    assert len(mail.outbox) == 1
