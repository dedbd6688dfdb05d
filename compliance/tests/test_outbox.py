"""The one outbox: queued once per (kind, object, stage), sent once after
commit, retried with back-off, given up to staff, kept as a per-message log
that the data export, erasure and retention read."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent, OutboundEmail
from compliance.outbox import kinds, selectors, services

UNREACHABLE = "compliance.tests.backends.UnreachableBackend"
TEMPLATE = "marketing-confirm"  # any template whose context is a link and a number
CONTEXT = {"link": "https://levqor.test/confirm/abc", "days": 7}


def queue(customer, *, stage="1", **overrides):
    options = {
        "kind": "test.notice",
        "about": customer,
        "stage": stage,
        "template": TEMPLATE,
        "to": customer.email,
        "context": CONTEXT,
        **overrides,
    }
    return services.email_queue(**options)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what the code queued for after commit, as the real request cycle would."""

    def run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return run


def test_an_email_is_sent_once_after_commit_and_logged(customer, commit):
    email = commit(lambda: queue(customer))
    assert [m.to for m in mail.outbox] == [[customer.email]]
    message = mail.outbox[0]
    assert message.extra_headers["Idempotency-Key"] == f"levqor-email-{email.pk}"
    email.refresh_from_db()
    assert email.status == "sent" and email.sent_at and email.subject == message.subject
    assert email.attempts == 1
    sent = AuditEvent.objects.get(action="email.sent")
    assert (sent.target_type, sent.target_id) == ("accounts.user", str(customer.pk))


def test_nothing_is_sent_when_the_senders_transaction_rolls_back(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queue(customer)
    assert callbacks and mail.outbox == []  # only after commit


def test_the_same_kind_object_and_stage_is_queued_once(customer, commit):
    first = commit(lambda: queue(customer))
    assert commit(lambda: queue(customer)) is None
    second_stage = commit(lambda: queue(customer, stage="2"))
    assert first and second_stage and first.pk != second_stage.pk
    assert len(mail.outbox) == 2


def test_two_workers_delivering_the_same_email_send_it_once(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        email = queue(customer)
    assert services.email_deliver(email_id=email.pk) is True
    assert services.email_deliver(email_id=email.pk) is False
    assert services.emails_retry_due(now=timezone.now() + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


def test_a_worker_that_died_holding_the_lease_is_replaced_after_it(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        email = queue(customer)
    now = timezone.now()
    OutboundEmail.objects.filter(pk=email.pk).update(lease_until=now + services.LEASE, attempts=1)  # the crash
    assert services.emails_retry_due(now=now) == 0
    assert services.emails_retry_due(now=now + services.LEASE + timedelta(seconds=1)) == 1
    assert len(mail.outbox) == 1


def test_a_failing_provider_is_retried_with_back_off_then_left_to_staff(
    customer, settings, commit, client, staff, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = UNREACHABLE
    settings.LEVQOR_EMAIL_MAX_ATTEMPTS = 3
    email = commit(lambda: queue(customer))
    email.refresh_from_db()
    assert email.status == "queued" and email.attempts == 1 and "ConnectionRefusedError" in email.last_error
    first_retry = email.next_attempt_at
    assert services.emails_retry_due(now=first_retry - timedelta(seconds=1)) == 0  # the back-off holds
    assert services.emails_retry_due(now=first_retry) == 0
    email.refresh_from_db()
    assert email.attempts == 2 and email.next_attempt_at - first_retry >= timedelta(minutes=10)
    assert selectors.retrying_count() == 1 and selectors.failed_count() == 0
    services.emails_retry_due(now=email.next_attempt_at)
    email.refresh_from_db()
    assert email.status == "failed" and email.attempts == 3
    assert selectors.failed_count() == 1 and selectors.retrying_count() == 0
    assert mail.outbox == []

    # Staff see it from the index and the queue's link.
    client.force_login(staff)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Emails that failed (retries used up)" in index
    listing = client.get(reverse("admin:compliance_outboundemail_changelist") + "?state=failed")
    assert customer.email in listing.content.decode()

    # The provider is back; staff retry it: it is sent, once.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:compliance_outboundemail_changelist"),
            {"action": "retry_now", "_selected_action": [email.pk]},
        )
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == "sent" and len(mail.outbox) == 1
    assert selectors.failed_count() == 0
    assert AuditEvent.objects.filter(action="email.retry_requested", actor=staff).count() == 1


def test_staff_mark_a_failed_email_handled(customer, settings, staff, commit):
    settings.EMAIL_BACKEND = UNREACHABLE
    settings.LEVQOR_EMAIL_MAX_ATTEMPTS = 1
    email = commit(lambda: queue(customer))
    assert selectors.failed_count() == 1
    assert services.emails_mark_handled(ids=[email.pk], actor=staff) == 1
    assert services.emails_mark_handled(ids=[email.pk], actor=staff) == 0
    assert selectors.failed_count() == 0
    assert AuditEvent.objects.filter(action="email.failure_handled").count() == 1


def test_a_kind_can_drop_an_email_whose_news_no_longer_holds(customer, commit):
    def prepare(email, *, resend):
        raise kinds.Drop("the invoice was paid meanwhile")

    kinds.register("test.dropped", prepare=prepare)
    email = commit(lambda: queue(customer, kind="test.dropped"))
    email.refresh_from_db()
    assert email.status == "dropped" and "paid meanwhile" in email.last_error
    assert mail.outbox == []


def test_a_kind_decides_the_recipient_at_delivery(customer, commit):
    kinds.register(
        "test.live", prepare=lambda email, *, resend: kinds.Prepared(to="late@acme.test", context={"days": 3})
    )
    email = commit(lambda: queue(customer, kind="test.live", to=""))
    email.refresh_from_db()
    assert email.to == "late@acme.test" and mail.outbox[0].to == ["late@acme.test"]
    assert "3" in mail.outbox[0].body


def test_an_email_the_policy_refuses_is_closed_not_retried(customer, commit):
    from compliance import objections

    # The objection is confirmed by email (transactional): sent here, so only the marketing email is left.
    commit(lambda: objections.objections_set(user=customer, choices={"marketing": True}, source="web", actor=None))
    mail.outbox = []
    email = commit(lambda: queue(customer, purpose="marketing", template="marketing-newsletter", context={}))
    email.refresh_from_db()
    assert email.status == "skipped" and mail.outbox == []
    services.emails_retry_due(now=timezone.now() + timedelta(days=1))
    email.refresh_from_db()
    assert email.status == "skipped" and email.attempts == 1
    assert "marketing-newsletter" not in [m.tags[0] for m in mail.outbox]


def test_a_sign_in_link_does_not_stay_in_the_outbox_after_sending(customer, commit):
    email = commit(lambda: queue(customer, sensitive=True))
    email.refresh_from_db()
    assert email.status == "sent" and email.context == {}


def test_staff_resend_a_sent_email_with_a_new_idempotency_key(customer, staff, commit):
    email = commit(lambda: queue(customer))
    assert services.email_resend(email=email, actor=staff) is True
    assert [m.extra_headers["Idempotency-Key"] for m in mail.outbox] == [
        f"levqor-email-{email.pk}",
        f"levqor-email-{email.pk}-resend-1",
    ]
    email.refresh_from_db()
    assert email.resends == 1 and email.status == "sent"


def test_the_log_feeds_the_data_export_erasure_and_retention(customer, commit):
    commit(lambda: queue(customer))
    rows = list(services.email_rows(address=customer.email.upper()))
    assert len(rows) == 1 and rows[0]["status"] == "sent" and rows[0]["subject"]

    later = timezone.now() + timedelta(days=800)
    assert services.emails_prune(cutoff=later, dry_run=True) == 1
    assert services.emails_prune(cutoff=later, dry_run=False) == 1
    assert services.emails_prune(cutoff=later, dry_run=False) == 0
    assert list(services.email_rows(address=customer.email)) == []
    # The claim stays: the same email can never be queued again.
    assert commit(lambda: queue(customer)) is None


def test_erasure_cancels_what_is_still_queued_to_the_person(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        email = queue(customer)
    assert services.emails_forget_address(address=customer.email) == {"emails_cancelled": 1, "emails_anonymised": 1}
    assert services.email_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == "dropped" and email.to == "" and mail.outbox == []


def test_a_suppressed_address_gets_nothing_but_what_it_asks_for(customer, commit, staff):
    assert services.address_suppress(address=customer.email.upper(), reason="staff", actor=staff) is True
    assert services.address_suppress(address=customer.email, reason="staff", actor=staff) is False
    notice = commit(lambda: queue(customer))
    notice.refresh_from_db()
    assert notice.status == "skipped" and "suppression list" in notice.last_error
    link = commit(lambda: queue(customer, stage="sign-in", requested=True))
    link.refresh_from_db()
    assert link.status == "sent" and [m.to for m in mail.outbox] == [[customer.email]]


def test_the_last_email_to_an_erased_person_forgets_the_address_and_suppresses_it(customer, commit):
    last = commit(lambda: queue(customer, forget_recipient=True))
    last.refresh_from_db()
    assert last.status == "sent" and last.to == "" and len(mail.outbox) == 1
    assert services.suppressed(customer.email)
    later = commit(lambda: queue(customer, stage="later"))
    later.refresh_from_db()
    assert later.status == "skipped" and len(mail.outbox) == 1


def test_staff_suppress_by_address_and_find_it_again(staff_client, customer):
    response = staff_client.post(
        "/admin/compliance/suppression/add/", {"address": customer.email, "reason": "staff", "note": "asked by phone"}
    )
    assert response.status_code == 302
    assert services.suppressed(customer.email)
    listing = staff_client.get("/admin/compliance/suppression/?q=" + customer.email).content.decode()
    assert services.address_hash(customer.email) in listing and customer.email not in listing.split("<tbody>")[-1]
    assert AuditEvent.objects.filter(action="email.address_suppressed").count() == 1


def test_a_sent_email_whose_secret_link_was_forgotten_is_not_resent_empty(customer, staff, commit):
    email = commit(lambda: queue(customer, sensitive=True))
    assert services.email_resend(email=email, actor=staff) is False
    assert len(mail.outbox) == 1


def test_plain_text_shows_names_as_written_and_html_stays_escaped(customer, commit):
    customer.name = "Ann O'Brien <ops>"
    customer.save()
    commit(
        lambda: queue(customer, template="magic-link", objects={"user": customer}, context={"link": "x", "minutes": 5})
    )
    message = mail.outbox[0]
    assert "O'Brien <ops>" in message.body and "&#x27;" not in message.body
    assert "O&#x27;Brien &lt;ops&gt;" in message.alternatives[0][0]
