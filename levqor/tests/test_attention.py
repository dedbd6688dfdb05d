"""Needs attention, core queues: each failure really happens, then staff find
its label and count on /admin/ and follow the link to a list showing it."""

import html
import re
from datetime import timedelta
from multiprocessing import Queue, Value

import pytest
from django.core import mail
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Failure
from django_q.monitor import monitor
from django_q.signing import SignedPackage
from django_q.tasks import async_task
from django_q.worker import worker

from compliance.models import AuditEvent, MarketingSubscription, OutboundEmail
from compliance.outbox import services as outbox
from levqor.lib import attention

pytestmark = pytest.mark.django_db


def explode(order_id):
    """A task that fails, as a real one does when its code raises."""
    raise ValueError(f"order {order_id} could not be synced")


def run_through_the_cluster(func: str, *args, **kwargs) -> None:
    """Queue a task and run it the way qcluster does (broker → pusher →
    worker → monitor), in this process. django-q2's test mode (sync=True)
    re-raises instead of recording a failure, so it cannot show one."""
    broker = ORM(list_key="levqor-tests")  # its own queue in the test database
    async_task(func, *args, sync=False, broker=broker, **kwargs)
    task_queue, result_queue = Queue(), Queue()
    for ack_id, pack in broker.dequeue() or []:  # what the pusher does
        task = SignedPackage.loads(pack)
        task.update(cluster=Conf.CLUSTER_NAME, ack_id=ack_id)
        task_queue.put(task)
    task_queue.put("STOP")
    worker(task_queue, result_queue, Value("f", -1))
    result_queue.put("STOP")
    monitor(result_queue, broker)
    for q in (task_queue, result_queue):
        q.close()
        q.join_thread()


def queue_on_index(client, label: str) -> tuple[int | None, str]:
    """The count and link the admin index shows for one queue."""
    page = client.get("/admin/").content.decode()
    match = re.search(
        r'<th scope="row">(?:<a href="([^"]*)">)?' + re.escape(html.escape(label)) + r"(?:</a>)?</th>\s*"
        r'<td class="count"><strong[^>]*>([^<]+)</strong>',
        page,
    )
    assert match, f"{label!r} is not on the admin index"
    count = match.group(2)
    return (None if count == "?" else int(count)), html.unescape(match.group(1) or "")


def test_it_counts_a_failed_background_task_and_links_to_it(staff_client):
    assert queue_on_index(staff_client, "Background tasks failed")[0] == 0

    run_through_the_cluster("levqor.tests.test_attention.explode", 42, task_name="sync-order-42")
    failure = Failure.objects.get()
    assert "could not be synced" in failure.result

    count, url = queue_on_index(staff_client, "Background tasks failed")
    assert count == 1
    listing = staff_client.get(url)
    assert listing.status_code == 200
    assert "sync-order-42" in listing.content.decode()


def test_a_sign_in_email_the_provider_refused_is_retried_then_dropped_once_its_link_expired(
    client, staff, customer, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "compliance.tests.backends.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/login", {"email": customer.email})
    assert response.status_code == 200  # the person is not shown a crash
    email = OutboundEmail.objects.get(kind="accounts.sign-in-link")
    assert (email.template, email.to, email.status) == ("magic-link", customer.email, "queued")
    assert "refused" in email.last_error and "token" not in email.last_error

    client.force_login(staff)
    count, url = queue_on_index(client, "Emails failing, being retried")
    assert count == 1
    listing = client.get(url).content.decode()
    assert "accounts.sign-in-link" in listing and customer.email in listing

    # The provider is back, but the link expired meanwhile: it is dropped, not sent late.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    expired = timezone.now() - timedelta(seconds=settings.SESAME_MAX_AGE + 1)
    OutboundEmail.objects.filter(pk=email.pk).update(created_at=expired)  # queued longer ago than a link lives
    assert outbox.emails_retry_due(now=email.next_attempt_at) == 0
    email.refresh_from_db()
    assert email.status == "dropped" and "expired" in email.last_error and email.context == {}
    assert mail.outbox == []
    assert queue_on_index(client, "Emails failing, being retried")[0] == 0


def test_a_compliance_email_that_failed_is_shown_and_staff_can_mark_it_handled(
    client, staff_client, staff, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "compliance.tests.backends.UnreachableBackend"
    settings.LEVQOR_EMAIL_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/marketing/subscribe", {"email": "reader@example.test", "product_updates": "on"})
    assert response.status_code in (200, 302)
    assert MarketingSubscription.objects.filter(email="reader@example.test").exists()
    email = OutboundEmail.objects.get(template="marketing-confirm")
    assert email.status == "failed"

    count, url = queue_on_index(staff_client, "Emails that failed (retries used up)")
    assert count == 1
    assert "reader@example.test" in staff_client.get(url).content.decode()

    staff_client.post(url, {"action": "mark_handled", "_selected_action": [email.pk]})
    email.refresh_from_db()
    assert email.handled_note == f"handled by {staff.email}"
    assert AuditEvent.objects.filter(action="email.failure_handled", actor=staff).count() == 1
    assert queue_on_index(staff_client, "Emails that failed (retries used up)")[0] == 0


@pytest.mark.slow
def test_it_shows_every_registered_queue_with_its_count_and_a_working_link(staff_client):
    queues = attention.queue_counts()
    labels = {queue.label for queue in queues}
    assert {
        "Emails that failed (retries used up)",
        "Emails failing, being retried",
        "Background tasks failed",
    } <= labels
    for queue in queues:
        count, url = queue_on_index(staff_client, queue.label)
        assert count == queue.count, queue.label
        assert url == queue.url and url, f"{queue.label!r} has no link"
        assert staff_client.get(url).status_code == 200, queue.label


def test_a_queue_that_cannot_be_counted_does_not_break_the_index(staff_client):
    def broken() -> int:
        raise RuntimeError("table missing")

    attention.register("Broken queue", count=broken, url_name="admin:django_q_failure_changelist")
    try:
        response = staff_client.get("/admin/")
        assert response.status_code == 200
        assert queue_on_index(staff_client, "Broken queue")[0] is None  # shown as "?"
        assert queue_on_index(staff_client, "Background tasks failed")[0] == 0
    finally:
        attention.unregister("Broken queue")
