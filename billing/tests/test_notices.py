"""No false words: billing emails leave only after what they report has
committed and only while it still holds; failed sends are retried with
back-off, visible to staff, and can be retried from admin."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing import cases, dunning, notices, selectors, services
from billing.models import DunningCase, DunningNotice, EmailLog
from compliance.models import AuditEvent

from .conftest import current_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapped(customer_account):
    customer_account.stripe_customer_id = "cus_notices"
    customer_account.save(update_fields=["stripe_customer_id"])
    return customer_account


@pytest.fixture
def smtp(settings):
    """Switch between a working backend and a real send failure (SMTP to a
    port nothing listens on)."""

    class Switch:
        def down(self):
            settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

        def up(self):
            settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"

    return Switch()


def open_case(*, days_ago=0.0) -> DunningCase:
    invoice = current_invoice(invoice_id="in_notices", customer="cus_notices", subscription="sub_notices")
    at = timezone.now() - timedelta(days=days_ago)
    return cases.case_record_failure(invoice=invoice, event_id=f"evt_notices_{days_ago}", event_at=at)


def pass_time(notice: DunningNotice) -> None:
    """The back-off has run out (moved back: delivery reads the clock)."""
    DunningNotice.objects.filter(pk=notice.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_a_failed_send_is_retried_with_back_off_until_it_leaves(mapped, smtp, django_capture_on_commit_callbacks):
    smtp.down()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()  # the day-0 email is attempted at once, and fails
    notice = DunningNotice.objects.get(case=case)
    assert notice.sent_at is None and notice.deliveries == 1
    assert "ConnectionRefusedError" in notice.last_error
    first_wait = notice.lease_until - timezone.now()
    assert timedelta(minutes=4) < first_wait <= timedelta(minutes=5)
    assert notices.notices_retry_due(now=timezone.now()) == 0  # backing off: not yet

    pass_time(notice)
    assert notices.notices_retry_due(now=timezone.now()) == 0  # still down: a second failure
    notice.refresh_from_db()
    assert notice.deliveries == 2
    assert timedelta(minutes=9) < notice.lease_until - timezone.now() <= timedelta(minutes=10)  # waits longer
    assert selectors.notice_failed_count() == 1

    smtp.up()
    pass_time(notice)
    assert notices.notices_retry_due(now=timezone.now()) == 1
    assert notices.notices_retry_due(now=timezone.now()) == 0
    assert [m.subject for m in mail.outbox] == ["Payment failed for your Levqor subscription (£29.00)"]
    notice.refresh_from_db()
    assert notice.sent_at is not None and notice.last_error == "" and notice.deliveries == 3
    assert selectors.notice_failed_count() == 0


def test_the_back_off_doubles_up_to_six_hours():
    assert [notices.retry_delay(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (5, 10, 20)]
    assert notices.retry_delay(30) == timedelta(hours=6)


def test_a_reminder_that_failed_is_not_sent_once_the_case_is_paid(mapped, smtp, django_capture_on_commit_callbacks):
    smtp.down()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()
    smtp.up()
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_record_payment(
            subscription_id="sub_notices", event_id="evt_paid", event_at=timezone.now(), reason="invoice.paid"
        )
    # Only the truth: "payment received", never the stale "payment failed".
    assert [m.subject for m in mail.outbox] == ["Payment received: your Levqor account is restored"]
    day0 = DunningNotice.objects.get(case=case, kind="day0")
    pass_time(day0)
    notices.notices_retry_due(now=timezone.now())
    day0.refresh_from_db()
    assert len(mail.outbox) == 1
    assert day0.sent_at is None and day0.dropped_at is not None
    assert day0.last_error == "Not sent: the case was recovered before the reminder went out."
    assert selectors.notice_failed_count() == 0
    assert AuditEvent.objects.filter(action="dunning.email_dropped", target_id=str(case.pk)).count() == 1


def test_payment_received_is_sent_only_after_the_recovery_commits(mapped, django_capture_on_commit_callbacks):
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            cases.case_record_payment(
                subscription_id="sub_notices", event_id="evt_paid", event_at=timezone.now(), reason="invoice.paid"
            )
            raise RuntimeError("the recovery did not commit")
    assert mail.outbox == []
    case.refresh_from_db()
    assert case.status == "pending" and not DunningNotice.objects.filter(kind="recovered").exists()


def test_the_paused_email_is_not_sent_if_staff_lifted_the_pause_first(mapped, django_capture_on_commit_callbacks):
    case = open_case(days_ago=15)
    dunning.case_advance(case_id=case.pk, now=timezone.now())  # claimed and paused; the send has not run
    assert services.case_unpause_account(case=DunningCase.objects.get(pk=case.pk), actor=None)
    notice = DunningNotice.objects.get(case=case, kind="day14")
    assert not notices.notice_deliver(notice_id=notice.pk)
    assert mail.outbox == []
    notice.refresh_from_db()
    assert notice.last_error == "Not sent: the account is not paused."


def test_staff_see_failed_emails_and_retry_them_from_admin(
    mapped, smtp, staff_client, django_capture_on_commit_callbacks
):
    smtp.down()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()
    notice = DunningNotice.objects.get(case=case)
    changelist = reverse("admin:billing_dunningnotice_changelist")
    page = staff_client.get(changelist + "?delivery=failed").content.decode()
    assert "ConnectionRefusedError" in page
    timeline = staff_client.get(reverse("admin:billing_dunningcase_change", args=[case.pk])).content.decode()
    assert "Day 0 reminder (failed 1×" in timeline

    smtp.up()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            changelist, {"action": "action_retry_now", "_selected_action": [notice.pk]}, follow=True
        )
    assert "1 email(s) retried." in response.content.decode()
    assert len(mail.outbox) == 1
    assert EmailLog.objects.filter(case=case, kind="day0").count() == 1
    assert "Case #" not in staff_client.get(changelist + "?delivery=failed").content.decode()
    assert f"Case #{case.pk}" in staff_client.get(changelist + "?delivery=sent").content.decode()
    # Retrying a sent email does nothing.
    staff_client.post(changelist, {"action": "action_retry_now", "_selected_action": [notice.pk]})
    assert len(mail.outbox) == 1


def test_admin_notice_pages_render(mapped, staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()
    notice = DunningNotice.objects.get(case=case)
    changelist = reverse("admin:billing_dunningnotice_changelist")
    for query in ("", "?delivery=failed", "?delivery=in_flight", "?delivery=sent", "?delivery=dropped"):
        assert staff_client.get(changelist + query).status_code == 200
    assert staff_client.get(reverse("admin:billing_dunningnotice_change", args=[notice.pk])).status_code == 200
