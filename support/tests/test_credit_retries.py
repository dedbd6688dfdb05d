"""No false words to customers: an SLA credit is emailed only once Stripe has
confirmed it; a failed credit says exactly what happened, is retried with
backoff (once, however many workers run the job), stays visible in needs
attention, and staff can retry it now or cancel it from admin. Stripe is the
fake Stripe API over real HTTP; "Stripe down" is a closed loopback port."""

import re
import socket
from datetime import UTC, timedelta

import pytest
import stripe
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent, OutboundEmail
from compliance.outbox.selectors import emails_about
from compliance.outbox.services import emails_retry_due
from support import rules, selectors, services
from support.models import SlaCreditRequest

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:support_slacreditrequest_changelist"
FAILED_LABEL = "SLA credits that failed in Stripe (awaiting retry or exhausted)"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stripe_down(fake_stripe):
    """Nothing listens where the stripe library calls: a connection error."""
    up = stripe.api_base
    stripe.api_base = f"http://127.0.0.1:{closed_port()}"

    class Switch:
        def restore(self):
            stripe.api_base = up

    yield Switch()
    stripe.api_base = up


def decision_emails() -> list:
    return [m for m in mail.outbox if "support-sla-credit-decision" in m.tags]


def approve(customer, staff, capture, amount=500, notes="Sorry about the outage."):
    period = rules.month_period(rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1))
    request = services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=period,
        impact="major",
        description="Down.",
        actor=customer,
    )
    with capture(execute=True):
        services.sla_request_decide(
            request=request, status="approved", credit_amount_minor=amount, notes_to_customer=notes, actor=staff
        )
    request.refresh_from_db()
    return request


def index_count(client, label: str) -> tuple[int, str]:
    """The count and link shown on the admin index next to `label`."""
    html = client.get("/admin/").content.decode()
    match = re.search(
        r'<a href="([^"]+)">' + re.escape(label) + r'</a></th>\s*<td class="count"><strong>(\d+)</strong>', html
    )
    assert match, f"{label!r} not on the admin index"
    return int(match.group(2)), match.group(1).replace("&amp;", "&")


# --- The customer hears of a credit only once Stripe confirmed it ---------------------------


def test_it_emails_nothing_while_stripe_is_unreachable_and_the_credit_once_confirmed(
    customer, staff, stripe_customer, fake_stripe, stripe_down, customer_client, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    assert decision_emails() == []  # no "applied to your account balance" that did not happen
    assert request.status == "approved" and request.credit_state == "retrying" and not request.stripe_credit_id
    assert request.credit_error_kind == "unreachable"
    assert request.credit_error.startswith("Could not reach Stripe (connection error or timeout)")
    assert "refused" not in request.credit_error
    failed = AuditEvent.objects.get(action="support.sla_credit.credit_failed", target_id=str(request.pk))
    assert failed.details["kind"] == "unreachable" and failed.details["attempt"] == 1
    page = customer_client.get(reverse("support:sla_credit_detail", args=[request.pk])).content.decode()
    assert "not applied yet" in page and "applied to your account balance" not in page

    stripe_down.restore()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_credits_retry(now=request.credit_next_attempt_at) == 1
    request.refresh_from_db()
    assert request.credit_state == "applied" and request.stripe_credit_id.startswith("cbtxn_")
    assert request.credit_error == "" and request.credit_next_attempt_at is None
    [email] = decision_emails()
    assert email.to == ["owner@acme.test"] and "Approved" in email.subject
    assert "£5.00, applied to your account balance" in email.body
    assert request.stripe_credit_id in email.body and "Sorry about the outage." in email.body
    assert len(fake_stripe.balance_transactions[stripe_customer]) == 1
    page = customer_client.get(reverse("support:sla_credit_detail", args=[request.pk])).content.decode()
    assert "£5.00, applied to your account balance on" in page


def test_it_says_stripe_refused_with_stripes_reason_and_leaves_it_to_staff(
    customer, staff, stripe_customer, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.refuse_next_credit = 1
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    assert request.credit_state == "failed" and request.credit_error_kind == "refused"
    assert request.credit_error == (
        "Stripe refused: The customer balance cannot be adjusted for a deleted customer. (parameter_invalid_integer)"
    )
    assert request.credit_next_attempt_at is None  # the same request would be refused again
    posted = len(fake_stripe.credits_posted())
    assert services.sla_credits_retry(now=timezone.now() + timedelta(days=1)) == 0
    assert len(fake_stripe.credits_posted()) == posted
    assert decision_emails() == []


def test_it_calls_a_stripe_5xx_an_api_error_and_retries_it(
    customer, staff, stripe_customer, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next_credit = 1
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    assert request.credit_state == "retrying" and request.credit_error_kind == "api_error"
    assert request.credit_error == "Stripe API error (HTTP 500, fake_outage): Fake outage"


def test_it_backs_off_exponentially_and_keeps_an_exhausted_credit_visible(
    customer, staff, stripe_customer, fake_stripe, stripe_down, staff_client, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    delays = []
    for _ in range(services.CREDIT_MAX_ATTEMPTS - 1):
        due = request.credit_next_attempt_at
        if due is None:
            break
        # Not due a minute early: nothing is attempted.
        assert services.sla_credits_retry(now=due - timedelta(minutes=1)) == 0
        assert SlaCreditRequest.objects.get(pk=request.pk).credit_attempts == request.credit_attempts
        services.sla_credits_retry(now=due)
        request.refresh_from_db()
        if request.credit_next_attempt_at:
            delays.append(int((request.credit_next_attempt_at - due).total_seconds() // 60))
    assert delays == [10, 20, 40, 80, 160, 320]
    assert request.credit_attempts == services.CREDIT_MAX_ATTEMPTS
    assert request.credit_state == "failed" and request.credit_next_attempt_at is None
    assert services.sla_credits_retry(now=timezone.now() + timedelta(days=30)) == 0
    count, url = index_count(staff_client, FAILED_LABEL)
    assert count == 1
    assert f"/{request.pk}/change/" in staff_client.get(url).content.decode()
    assert decision_emails() == []


# --- Exactly once ---------------------------------------------------------------------------------


def test_it_applies_one_credit_when_the_retry_job_runs_twice(
    customer, staff, stripe_customer, fake_stripe, stripe_down, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    stripe_down.restore()
    due = request.credit_next_attempt_at
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_credits_retry(now=due) == 1
        assert services.sla_credits_retry(now=due) == 0
        assert services.sla_credits_retry(now=due + timedelta(hours=1)) == 0
        assert services.sla_credit_retry_now(request=request, actor=staff) is None
    assert len(fake_stripe.credits_posted()) == 1
    assert len(decision_emails()) == 1
    assert AuditEvent.objects.filter(action="support.sla_credit.credited").count() == 1


def test_it_lets_one_worker_of_two_take_a_due_credit(
    customer, staff, stripe_customer, fake_stripe, stripe_down, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    stripe_down.restore()
    due = request.credit_next_attempt_at
    # The first worker holds the claim (mid-call to Stripe): the second finds nothing due.
    SlaCreditRequest.objects.filter(pk=request.pk).update(credit_claimed_at=due)
    assert services.sla_credits_retry(now=due) == 0
    assert fake_stripe.credits_posted() == []
    # The claim lapses (the worker died): the job takes it over, once.
    lapsed = due + selectors.CLAIM_LEASE + timedelta(seconds=1)
    assert services.sla_credits_retry(now=lapsed) == 1
    assert services.sla_credits_retry(now=lapsed) == 0
    assert len(fake_stripe.credits_posted()) == 1


# --- Staff: retry now, cancel ------------------------------------------------------------------------


def test_it_lets_staff_retry_a_failed_credit_now_from_admin(
    customer, staff, stripe_customer, fake_stripe, stripe_down, staff_client, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    url = reverse(CHANGELIST) + "?status=all&credit=failed"
    change = staff_client.get(reverse("admin:support_slacreditrequest_change", args=[request.pk])).content.decode()
    assert "Could not reach Stripe (connection error or timeout)" in change and "Stripe refused" not in change
    # Still down: the retry is recorded as a second failure, said as such.
    response = staff_client.post(url, {"action": "retry_credit", "_selected_action": [request.pk]}, follow=True)
    assert "0 credit(s) applied in Stripe. 1 failed again" in response.content.decode()
    request.refresh_from_db()
    assert request.credit_attempts == 2 and request.credit_state == "retrying"
    stripe_down.restore()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"action": "retry_credit", "_selected_action": [request.pk]}, follow=True)
    assert "1 credit(s) applied in Stripe." in response.content.decode()
    request.refresh_from_db()
    assert request.credit_state == "applied" and request.stripe_credit_id
    retries = AuditEvent.objects.filter(action="support.sla_credit.retry_requested", target_id=str(request.pk))
    assert retries.count() == 2 and {e.actor_label for e in retries} == {staff.email}
    assert len(decision_emails()) == 1 and len(fake_stripe.credits_posted()) == 1


def test_it_lets_staff_cancel_a_failed_credit_and_then_never_applies_it(
    customer, staff, stripe_customer, fake_stripe, staff_client, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next_credit = 1
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    url = reverse(CHANGELIST) + "?status=all&credit=failed"
    cancel = {"action": "cancel_credit", "_selected_action": [request.pk]}
    assert "will not be applied in Stripe" in staff_client.post(url, cancel).content.decode()
    response = staff_client.post(url, {**cancel, "apply": "1"}, follow=True)
    assert "Cancel SLA credits: 1 done." in response.content.decode()
    request.refresh_from_db()
    assert request.credit_state == "canceled" and request.credit_canceled_at and not request.stripe_credit_id
    event = AuditEvent.objects.get(action="support.sla_credit.credit_canceled", target_id=str(request.pk))
    assert event.actor_label == staff.email
    assert services.sla_credits_retry(now=timezone.now() + timedelta(days=1)) == 0
    assert services.sla_credit_retry_now(request=request, actor=staff) is None
    assert len(fake_stripe.credits_posted()) == 1  # only the failed attempt
    assert decision_emails() == []
    assert index_count(staff_client, FAILED_LABEL)[0] == 0
    customer_client = Client()
    customer_client.force_login(customer)
    page = customer_client.get(reverse("support:sla_credit_detail", args=[request.pk])).content.decode()
    assert "£5.00" not in page and "<dt>Credit</dt><dd>none</dd>" in page


def test_it_records_instead_of_canceling_a_credit_stripe_already_made(
    customer, staff, stripe_customer, fake_stripe, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    made = request.stripe_credit_id
    # A timeout after Stripe made the credit: our row never learned the reference.
    SlaCreditRequest.objects.filter(pk=request.pk).update(
        stripe_credit_id="", credit_state="retrying", credit_error="Could not reach Stripe"
    )
    mail.outbox = []
    emails_about(request).filter(stage="credit-applied").delete()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="already has this credit"):
        services.sla_credit_cancel(request=request, actor=staff)
    request.refresh_from_db()
    assert request.credit_state == "applied" and request.stripe_credit_id == made
    assert len(decision_emails()) == 1 and len(fake_stripe.credits_posted()) == 1


def test_it_refuses_to_cancel_while_stripe_cannot_confirm_no_credit_was_made(
    customer, staff, stripe_customer, fake_stripe, stripe_down, django_capture_on_commit_callbacks
):
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    with pytest.raises(Exception, match="Not canceled: Stripe must first confirm") as refused:
        services.sla_credit_cancel(request=request, actor=staff)
    assert "Could not reach Stripe" in str(refused.value)
    request.refresh_from_db()
    assert request.credit_state == "retrying" and request.credit_claimed_at is None


# --- Needs attention ---------------------------------------------------------------------------------


def test_it_shows_a_failed_credit_in_needs_attention_with_a_filtered_list(
    customer, staff, stripe_customer, fake_stripe, stripe_down, staff_client, django_capture_on_commit_callbacks
):
    assert index_count(staff_client, FAILED_LABEL)[0] == 0
    request = approve(customer, staff, django_capture_on_commit_callbacks)
    count, url = index_count(staff_client, FAILED_LABEL)
    assert count == 1
    listing = staff_client.get(url).content.decode()
    assert f"/{request.pk}/change/" in listing and "Failed: retry scheduled after 1 attempt(s)" in listing
    # The queue's default view ("needs attention") shows it too.
    assert f"/{request.pk}/change/" in staff_client.get(reverse(CHANGELIST)).content.decode()


def test_it_shows_a_support_email_that_failed_to_send_in_needs_attention(
    customer, staff_client, settings, django_capture_on_commit_callbacks
):
    retrying, failed = "Emails failing, being retried", "Emails that failed (retries used up)"
    assert index_count(staff_client, retrying)[0] == 0 and index_count(staff_client, failed)[0] == 0
    settings.EMAIL_BACKEND = "compliance.tests.backends.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_open(
            account=customer.account, user=customer, category="billing", subject="Bill", description="d", actor=None
        )
    email = emails_about(dispute).get(kind="support.dispute-received")
    assert email.status == "queued" and email.attempts == 1 and "ConnectionRefusedError" in email.last_error
    count, url = index_count(staff_client, retrying)
    listing = staff_client.get(url).content.decode()
    # Support's notice and the customer's receipt, both kept for retry.
    assert count == 2 and "support-dispute-received" in listing and "support-dispute-receipt" in listing
    timeline = staff_client.get(reverse("admin:support_dispute_change", args=[dispute.pk])).content.decode()
    assert "will be retried" in timeline and "ConnectionRefusedError" in timeline
    # The outbox's sweep retries it (still failing) with back-off up to the limit, then leaves it to staff.
    later = email.created_at
    for _ in range(settings.LEVQOR_EMAIL_MAX_ATTEMPTS):
        later += timedelta(hours=7)
        emails_retry_due(now=later)
    email.refresh_from_db()
    assert email.status == "failed" and email.attempts == settings.LEVQOR_EMAIL_MAX_ATTEMPTS
    assert index_count(staff_client, failed)[0] == 2 and index_count(staff_client, retrying)[0] == 0
    assert mail.outbox == []
    # Once the provider is back, staff retry it from the outbox: sent once, off the list.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("admin:compliance_outboundemail_changelist"),
            {"action": "retry_now", "_selected_action": [email.pk]},
        )
    email.refresh_from_db()
    assert email.status == "sent" and [m.to for m in mail.outbox] == [[settings.LEVQOR_SUPPORT_EMAIL]]
    assert index_count(staff_client, failed)[0] == 1  # the receipt, not retried here


# --- Dispute and chargeback emails report only what was committed ------------------------------------


def test_it_sends_no_dispute_outcome_email_when_the_change_is_not_saved(
    customer, staff, django_capture_on_commit_callbacks
):
    dispute = services.dispute_open(
        account=customer.account, user=customer, category="billing", subject="Bill", description="d", actor=None
    )
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            services.dispute_update(dispute=dispute, status="resolved", resolution_notes="Refunded.", actor=staff)
            raise RuntimeError("the save failed after the service ran")
    dispute.refresh_from_db()
    assert dispute.status == "open" and mail.outbox == []
    assert not OutboundEmail.objects.filter(kind="support.dispute-status").exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_update(dispute=dispute, status="resolved", resolution_notes="Refunded.", actor=staff)
    [email] = mail.outbox
    assert "Resolved" in email.subject and "Refunded." in email.body
