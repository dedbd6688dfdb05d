"""No false words: billing emails (the outbox's kind "billing.dunning")
leave only after what they report has committed and only while it still
holds; failed sends are retried with back-off, visible to staff, and can
be retried from admin."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing import cases, dunning, services
from billing.models import DunningCase
from compliance.models import AuditEvent, OutboundEmail
from compliance.outbox import selectors as outbox_selectors
from compliance.outbox import services as outbox

from .conftest import current_invoice, dunning_emails

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


def pass_time(email: OutboundEmail) -> None:
    """The back-off has run out (moved back: delivery reads the clock)."""
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def retry_due() -> int:
    return outbox.emails_retry_due(now=timezone.now())


def test_a_failed_send_is_retried_with_back_off_until_it_leaves(mapped, smtp, django_capture_on_commit_callbacks):
    smtp.down()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()  # the day-0 email is attempted at once, and fails
    email = dunning_emails(case).get()
    assert email.status == "queued" and email.attempts == 1 and email.stage == "day0"
    assert "ConnectionRefusedError" in email.last_error
    first_wait = email.next_attempt_at - timezone.now()
    assert timedelta(minutes=4) < first_wait <= timedelta(minutes=5)
    assert retry_due() == 0  # backing off: not yet

    pass_time(email)
    assert retry_due() == 0  # still down: a second failure
    email.refresh_from_db()
    assert email.attempts == 2
    assert timedelta(minutes=9) < email.next_attempt_at - timezone.now() <= timedelta(minutes=10)  # waits longer
    assert outbox_selectors.retrying_count() == 1

    smtp.up()
    pass_time(email)
    assert retry_due() == 1
    assert retry_due() == 0
    assert [m.subject for m in mail.outbox] == ["Payment failed for your Levqor subscription (£29.00)"]
    email.refresh_from_db()
    assert email.status == "sent" and email.last_error == "" and email.attempts == 3
    assert email.subject == mail.outbox[0].subject and email.to == mapped.users.get().email
    assert outbox_selectors.retrying_count() == 0


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
    day0 = dunning_emails(case, stage="day0").get()
    pass_time(day0)
    retry_due()
    day0.refresh_from_db()
    assert len(mail.outbox) == 1
    assert day0.status == "dropped" and day0.sent_at is None
    assert day0.last_error == "Not sent: the case was recovered before the reminder went out."
    assert outbox_selectors.retrying_count() == outbox_selectors.failed_count() == 0
    assert AuditEvent.objects.filter(action="email.dropped", target_id=str(case.pk)).count() == 1


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
    assert case.status == "pending" and not dunning_emails(stage="recovered").exists()


def test_the_paused_email_is_not_sent_if_staff_lifted_the_pause_first(mapped, django_capture_on_commit_callbacks):
    case = open_case(days_ago=15)
    dunning.case_advance(case_id=case.pk, now=timezone.now())  # queued and paused; the send has not run
    assert services.case_unpause_account(case=DunningCase.objects.get(pk=case.pk), actor=None)
    email = dunning_emails(case, stage="day14").get()
    assert not outbox.email_deliver(email_id=email.pk)
    assert mail.outbox == []
    email.refresh_from_db()
    assert email.status == "dropped" and email.last_error == "Not sent: the account is not paused."


def test_the_email_goes_to_the_account_s_owner_at_delivery_time(mapped, customer, django_capture_on_commit_callbacks):
    case = open_case()
    dunning.case_advance(case_id=case.pk, now=timezone.now())  # queued; the send has not run
    customer.email = "new-owner@acme.test"
    customer.save(update_fields=["email"])
    assert outbox.emails_retry_due(now=timezone.now()) == 1
    assert [m.to for m in mail.outbox] == [["new-owner@acme.test"]]
    assert dunning_emails(case).get().to == "new-owner@acme.test"


def test_an_email_delivered_twice_is_sent_once(mapped, django_capture_on_commit_callbacks):
    case = open_case()
    dunning.case_advance(case_id=case.pk, now=timezone.now())  # queued; its on_commit send never ran
    email = dunning_emails(case).get()
    assert outbox.email_deliver(email_id=email.pk) is True
    assert outbox.email_deliver(email_id=email.pk) is False
    assert retry_due() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Idempotency-Key"] == f"levqor-email-{email.pk}"
    assert AuditEvent.objects.filter(action="email.sent", target_id=str(case.pk)).count() == 1


def test_staff_see_failed_emails_and_retry_them_from_the_outbox_admin(
    mapped, smtp, staff_client, django_capture_on_commit_callbacks
):
    smtp.down()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()
    email = dunning_emails(case).get()
    changelist = reverse("admin:compliance_outboundemail_changelist")
    page = staff_client.get(changelist).content.decode()  # opens on "needs attention"
    assert "ConnectionRefusedError" in page and f"billing.dunningcase:{case.pk}" in page
    case_page = staff_client.get(reverse("admin:billing_dunningcase_change", args=[case.pk])).content.decode()
    assert "Day 0 reminder (failed 1×" in case_page
    assert f"about_type=billing.dunningcase&amp;about_id={case.pk}" in case_page

    smtp.up()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(changelist, {"action": "retry_now", "_selected_action": [email.pk]}, follow=True)
    assert "1 email(s) retried" in response.content.decode()
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == "sent"
    own = staff_client.get(f"{changelist}?about_type=billing.dunningcase&about_id={case.pk}&state=sent")
    assert own.status_code == 200 and f"billing.dunningcase:{case.pk}" in own.content.decode()
    # Retrying a sent email does nothing.
    staff_client.post(changelist, {"action": "retry_now", "_selected_action": [email.pk]})
    assert len(mail.outbox) == 1


def test_staff_resend_a_case_s_current_email_through_the_outbox(
    mapped, staff, staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case()  # the day-0 email leaves
    email = dunning_emails(case).get()
    changelist = reverse("admin:billing_dunningcase_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            changelist, {"action": "action_resend", "_selected_action": [case.pk]}, follow=True
        )
    assert "1 case(s) had their email sent again" in response.content.decode()
    assert [m.subject for m in mail.outbox] == ["Payment failed for your Levqor subscription (£29.00)"] * 2
    assert mail.outbox[1].extra_headers["Idempotency-Key"] == f"levqor-email-{email.pk}-resend-1"
    email.refresh_from_db()
    assert email.status == "sent" and email.resends == 1
    resent = AuditEvent.objects.get(action="email.resent")
    assert (resent.target_type, resent.target_id) == ("billing.dunningcase", str(case.pk))
    assert AuditEvent.objects.filter(action="email.resend_requested", actor=staff).count() == 1
