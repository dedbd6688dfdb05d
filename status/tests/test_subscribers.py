import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_q.tasks import async_task, result

from compliance.models import OutboundEmail
from compliance.outbox import services as outbox
from status import services
from status.models import Impact, IncidentStatus, Subscriber
from status.tests.conftest import attention_row

pytestmark = pytest.mark.django_db

UNREACHABLE = "status.tests.backends.UnreachableBackend"


def notices(**filters):
    return OutboundEmail.objects.filter(kind__in=["status.incident-update", "status.maintenance"], **filters)


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
    assert notices(status="sent").count() == 3
    assert set(notices().values_list("stage", flat=True)) == {f"subscriber-{subscribed.pk}"}


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


def test_a_failed_send_is_the_outboxs_to_retry_and_is_sent_once(
    subscribed, staff, components, settings, client, django_capture_on_commit_callbacks
):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = UNREACHABLE
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_send(update_id=update.pk) == 1
    email = notices().get()
    assert (email.status, email.attempts, email.to) == ("queued", 1, "reader@example.test")
    assert "ConnectionRefusedError" in email.last_error
    assert email.about_type == "status.incidentupdate" and email.about_id == str(update.pk)

    client.force_login(staff)
    count, url = attention_row(client.get("/admin/").content.decode(), "Emails failing, being retried")
    assert count == 1
    assert "reader@example.test" in client.get(url).content.decode()

    # The fan-out runs again (the sweep): it queues nothing more.
    assert services.notifications_sweep() == 0
    settings.EMAIL_BACKEND = backend
    assert outbox.emails_retry_due(now=email.next_attempt_at) == 1
    assert outbox.emails_retry_due(now=email.next_attempt_at + timedelta(hours=1)) == 0
    assert services.notifications_send(update_id=update.pk) == 0
    assert len(mail.outbox) == 1
    assert "unsubscribe" in mail.outbox[0].extra_headers["List-Unsubscribe"]


def test_a_subscribers_notice_is_sent_once_however_often_it_is_delivered(
    subscribed, staff, components, django_capture_on_commit_callbacks
):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    with django_capture_on_commit_callbacks(execute=False):  # the queue has not run it yet
        assert services.notifications_send(update_id=update.pk) == 1
        assert services.notifications_send(update_id=update.pk) == 0
    email = notices().get()
    assert outbox.email_deliver(email_id=email.pk) is True
    assert outbox.email_deliver(email_id=email.pk) is False  # a second worker, a retried task
    assert outbox.emails_retry_due(now=timezone.now() + timedelta(hours=1)) == 0
    assert [m.to for m in mail.outbox] == [["reader@example.test"]]
    assert mail.outbox[0].extra_headers["Idempotency-Key"] == f"levqor-email-{email.pk}"


def test_a_subscriber_who_unsubscribes_before_the_notice_goes_is_not_sent_it(
    subscribed, staff, components, django_capture_on_commit_callbacks
):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    with django_capture_on_commit_callbacks(execute=False):
        services.notifications_send(update_id=update.pk)
    services.subscriber_remove(subscriber=subscribed, actor=staff)
    email = notices().get()
    assert outbox.email_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == "dropped" and "unsubscribed" in email.last_error
    assert mail.outbox == []


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

    assert erase(user=customer, actor=staff) == {"status_subscribers": 1}
    assert erase(user=customer, actor=staff) == {"status_subscribers": 0}
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


def test_maintenance_is_announced_reminded_an_hour_before_started_and_completed_once_each(
    subscribed, staff, components, django_capture_on_commit_callbacks
):
    now = timezone.now()
    start, end = now + timedelta(days=3), now + timedelta(days=3, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.maintenance_create(
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
    assert "/status/subscription/" in mail.outbox[0].body  # the manage link

    # The reminder sweep: nothing earlier than an hour before, then once.
    assert services.maintenance_reminders_send(now=start - timedelta(hours=1, minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.maintenance_reminders_send(now=start - timedelta(minutes=59)) == 1
        assert services.maintenance_reminders_send(now=start - timedelta(minutes=58)) == 0
    assert services.notifications_sweep(now=start - timedelta(minutes=58)) == 0  # nothing sent twice
    assert mail.outbox[1].subject == "[Levqor status] Maintenance starts in an hour: Database upgrade"
    assert "restarts once" in mail.outbox[1].body

    with django_capture_on_commit_callbacks(execute=True):
        assert services.maintenance_advance(now=start) == (1, 0)
        assert services.maintenance_advance(now=start) == (0, 0)
    assert services.notifications_sweep(now=start) == 0  # nothing sent twice
    assert mail.outbox[2].subject == "[Levqor status] Maintenance started: Database upgrade"

    with django_capture_on_commit_callbacks(execute=True):
        assert services.maintenance_advance(now=end) == (0, 1)
        assert services.maintenance_advance(now=end) == (0, 0)
    assert services.notifications_sweep(now=end) == 0
    assert [m.subject for m in mail.outbox][3:] == ["[Levqor status] Maintenance completed: Database upgrade"]
    assert all(m.to == ["reader@example.test"] for m in mail.outbox)
    sent = OutboundEmail.objects.filter(kind__in=["status.maintenance", "status.maintenance-reminder"], status="sent")
    assert sent.count() == 4


def test_a_maintenance_announced_less_than_an_hour_ahead_gets_no_separate_reminder(
    subscribed, staff, components, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.maintenance_create(
            name="Quick fix",
            body="A short restart.",
            scheduled_for=now + timedelta(minutes=30),
            scheduled_until=now + timedelta(minutes=40),
            at=now,
            actor=staff,
        )
        assert services.maintenance_reminders_send(now=now + timedelta(minutes=1)) == 0
    assert [m.subject for m in mail.outbox] == ["[Levqor status] Scheduled maintenance: Quick fix"]


def test_staff_retry_a_status_email_whose_retries_ran_out_from_the_outbox(
    subscribed, staff, components, settings, client, django_capture_on_commit_callbacks
):
    incident = services.incident_create(name="X", impact=Impact.MINOR, body="x", notify=False, actor=staff)
    update = services.incident_update(
        incident=incident, status=IncidentStatus.IDENTIFIED, body="y", notify=True, actor=staff
    )
    backend = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = UNREACHABLE
    settings.LEVQOR_EMAIL_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_send(update_id=update.pk)
    failed = notices().get()
    assert failed.status == "failed"
    settings.EMAIL_BACKEND = backend
    assert services.notifications_sweep() == 0  # given up: only staff can send it again
    assert outbox.emails_retry_due(now=timezone.now() + timedelta(days=1)) == 0

    client.force_login(staff)
    count, url = attention_row(client.get("/admin/").content.decode(), "Emails that failed (retries used up)")
    assert count == 1 and "reader@example.test" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "retry_now", "_selected_action": [failed.pk]})

    failed.refresh_from_db()
    assert failed.status == "sent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reader@example.test"]


def test_each_requested_confirmation_is_sent_once_and_not_once_confirmed(client, django_capture_on_commit_callbacks):
    subscribe(client, "again@example.test", django_capture_on_commit_callbacks)
    subscriber = Subscriber.objects.get()
    first = OutboundEmail.objects.get(kind="status.subscribe-confirm")
    assert (first.about_id, first.stage, first.status) == (
        str(subscriber.pk),
        subscriber.confirm_sent_at.isoformat(),
        "sent",
    )
    assert "confirm_url" not in first.context  # made at delivery, never stored
    assert outbox.email_deliver(email_id=first.pk) is False

    # Asked again after ten minutes: a second confirmation, queued once; the
    # address is confirmed before it goes, so it is dropped.
    later = timezone.now() + timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=False):
        services.subscriber_subscribe(email="again@example.test", now=later)
    services.subscriber_confirm(token=services.subscribers.confirm_token(subscriber))
    second = OutboundEmail.objects.exclude(pk=first.pk).get(kind="status.subscribe-confirm")
    assert outbox.email_deliver(email_id=second.pk) is False
    second.refresh_from_db()
    assert second.status == "dropped" and "already confirmed" in second.last_error
    assert len(mail.outbox) == 1
