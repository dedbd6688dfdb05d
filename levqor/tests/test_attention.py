"""Needs attention, core queues: each failure really happens, then staff find
its label and count on /admin/ and follow the link to a list showing it."""

import html
import re
from multiprocessing import Queue, Value

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Failure
from django_q.monitor import monitor
from django_q.signing import SignedPackage
from django_q.tasks import async_task
from django_q.worker import worker

from compliance.models import AuditEvent, MarketingSubscription
from levqor.lib import attention
from levqor.models import EmailFailure

pytestmark = pytest.mark.django_db


class UnreachableBackend(BaseEmailBackend):
    """The email provider is down: every send raises, as anymail does on a 5xx."""

    def send_messages(self, email_messages):
        raise ConnectionError("email provider unreachable (demo)")


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


def test_it_counts_a_sign_in_email_the_provider_refused_until_it_goes_out(
    client, staff, customer, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "levqor.tests.test_attention.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/login", {"email": customer.email})
    assert response.status_code == 200  # the person is not shown a crash
    failure = EmailFailure.objects.get()
    assert (failure.template, failure.to, failure.resolved_at) == ("magic-link", customer.email, None)
    assert "unreachable" in failure.error and "token" not in failure.error

    client.force_login(staff)
    count, url = queue_on_index(client, "Emails that failed to send")
    assert count == 1
    listing = client.get(url).content.decode()
    assert "magic-link" in listing and customer.email in listing and "unreachable" in listing

    # The provider is back and the person asks again: the failure closes itself.
    client.logout()
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/login", {"email": customer.email})
    assert len(mail.outbox) == 1
    failure.refresh_from_db()
    assert failure.resolved_at is not None and failure.resolution == "sent later"
    client.force_login(staff)
    assert queue_on_index(client, "Emails that failed to send")[0] == 0
    assert customer.email not in client.get(url).content.decode()


def test_it_counts_a_compliance_email_that_failed_and_staff_can_mark_it_handled(
    client, staff_client, staff, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "levqor.tests.test_attention.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/marketing/subscribe", {"email": "reader@example.test", "product_updates": "on"})
    assert response.status_code in (200, 302)
    assert MarketingSubscription.objects.filter(email="reader@example.test").exists()
    failure = EmailFailure.objects.get(template="marketing-confirm")

    count, url = queue_on_index(staff_client, "Emails that failed to send")
    assert count == 1
    assert "reader@example.test" in staff_client.get(url).content.decode()

    staff_client.post(url, {"action": "mark_handled", "_selected_action": [failure.pk]})
    failure.refresh_from_db()
    assert failure.resolution == f"marked handled by {staff.email}"
    assert AuditEvent.objects.filter(action="email.failure_handled", actor=staff).count() == 1
    assert queue_on_index(staff_client, "Emails that failed to send")[0] == 0


def test_it_shows_every_registered_queue_with_its_count_and_a_working_link(staff_client):
    queues = attention.queue_counts()
    labels = {queue.label for queue in queues}
    assert {"Emails that failed to send", "Background tasks failed"} <= labels
    for queue in queues:
        count, url = queue_on_index(staff_client, queue.label)
        assert count == queue.count, queue.label
        assert url == queue.url and url, f"{queue.label!r} has no link"
        assert staff_client.get(url).status_code == 200, queue.label


def test_a_queue_that_cannot_be_counted_does_not_break_the_index(staff_client):
    def broken() -> int:
        raise RuntimeError("table missing")

    attention.register("Broken queue", count=broken, url_name="admin:levqor_emailfailure_changelist")
    try:
        response = staff_client.get("/admin/")
        assert response.status_code == 200
        assert queue_on_index(staff_client, "Broken queue")[0] is None  # shown as "?"
        assert queue_on_index(staff_client, "Background tasks failed")[0] == 0
    finally:
        attention.unregister("Broken queue")


def test_it_deletes_failed_send_records_when_the_person_is_erased(customer, other_customer, staff):
    from levqor.accounts.privacy import erase_user

    for who in (customer, other_customer):
        EmailFailure.objects.create(template="magic-link", to=who.email, purpose="transactional", error="x")
    summary = erase_user(user=customer, actor=staff)
    assert summary["email_failures_deleted"] == 1
    assert list(EmailFailure.objects.values_list("to", flat=True)) == [other_customer.email]
