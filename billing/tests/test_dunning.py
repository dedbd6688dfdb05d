"""The dunning sweep and its services on the real database: stages by age,
exactly-once emails, crash recovery, hard declines, staff actions."""

import time
from datetime import timedelta
from io import StringIO

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing import cases, dunning, services
from billing.models import DunningCase, StripeEvent
from compliance.models import AuditEvent, OutboundEmail
from compliance.outbox import services as outbox
from levqor.accounts.models import Account

from .conftest import current_invoice, dunning_emails

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapped_account(customer_account):
    customer_account.stripe_customer_id = "cus_dunning"
    customer_account.save(update_fields=["stripe_customer_id"])
    return customer_account


def open_case(account, *, days_ago=0.0, sub="sub_dunning", **invoice_changes) -> DunningCase:
    at = timezone.now() - timedelta(days=days_ago)
    invoice = current_invoice(
        invoice_id=f"in_{sub}", customer=account.stripe_customer_id, subscription=sub, **invoice_changes
    )
    return cases.case_record_failure(invoice=invoice, event_id=f"evt_{sub}_{time.time()}", event_at=at)


def run(now, *, capture, dry_run=False):
    with capture(execute=True):
        return dunning.dunning_run(now=now, dry_run=dry_run)


def test_it_sends_each_stage_once_by_age(mapped_account, django_capture_on_commit_callbacks):
    case = open_case(mapped_account)
    start = case.opened_at
    for offset in (timedelta(0), timedelta(days=3), timedelta(days=7), timedelta(days=8), timedelta(days=14)):
        run(start + offset, capture=django_capture_on_commit_callbacks)
        run(start + offset, capture=django_capture_on_commit_callbacks)  # twice: nothing more
    assert [m.subject for m in mail.outbox] == [
        "Payment failed for your Levqor subscription (£29.00)",
        "Second reminder: your Levqor payment of £29.00 is still due",
        "Your Levqor account is paused: payment of £29.00 not received",
    ]
    case.refresh_from_db()
    assert case.stage == "day14" and case.next_action_at is None
    mapped_account.refresh_from_db()
    assert mapped_account.billing_state == "paused_billing"
    sent = dunning_emails(case).filter(status="sent")
    assert list(sent.values_list("stage", "template")) == [
        ("day0", "dunning-reminder"),
        ("day7", "dunning-reminder"),
        ("day14", "dunning-reminder"),
    ]
    actions = list(AuditEvent.objects.filter(target_id=str(case.pk)).values_list("action", flat=True))
    batches = AuditEvent.objects.filter(action="dunning.stages_advanced").order_by("seq")
    assert [row.details["cases"][str(case.pk)]["to"] for row in batches] == ["day0", "day7", "day14"]
    assert actions.count("email.sent") == 3
    assert "dunning.account_paused" in actions


def test_it_renders_amount_link_and_next_retry(mapped_account, django_capture_on_commit_callbacks):
    retry = int((timezone.now() + timedelta(days=3)).timestamp())
    case = open_case(mapped_account, next_payment_attempt=retry)
    run(case.opened_at, capture=django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "Payment failed, please update your card to avoid interruption." in part
        assert "£29.00" in part
        assert case.hosted_invoice_url in part
        assert "/billing/portal" in part  # the Billing Portal: update card, change plan, cancel
        assert f"{timezone.localtime(case.next_payment_attempt):%-d %B %Y}" in part
    # One template for every stage; the stage's own tag is kept for the provider's dashboards.
    assert message.tags == ["dunning-reminder", "dunning", "dunning-day0"]


def test_it_skips_to_the_current_stage_after_downtime(mapped_account, django_capture_on_commit_callbacks):
    case = open_case(mapped_account, days_ago=15)
    run(timezone.now(), capture=django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert "Account paused due to non-payment, contact support to restore." in mail.outbox[0].body
    case.refresh_from_db()
    assert case.stage == "day14"


def test_it_asks_for_a_new_card_on_a_hard_decline(mapped_account, django_capture_on_commit_callbacks):
    case = open_case(
        mapped_account,
        next_payment_attempt=None,
        payment_intent={"id": "pi_x", "last_payment_error": {"code": "card_declined", "decline_code": "stolen_card"}},
    )
    assert case.hard_decline and case.decline_code == "stolen_card"
    run(case.opened_at, capture=django_capture_on_commit_callbacks)
    body = mail.outbox[0].body
    assert "will not accept another attempt" in body
    assert "please add a new card" in body
    assert "We will try the card again" not in body


def test_a_soft_decline_with_no_retry_left_is_not_a_hard_decline(mapped_account):
    case = open_case(
        mapped_account,
        next_payment_attempt=None,
        payment_intent={
            "id": "pi_x",
            "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
        },
    )
    assert not case.hard_decline


def test_the_outbox_sweep_sends_an_email_a_crashed_worker_left(mapped_account, django_capture_on_commit_callbacks):
    case = open_case(mapped_account)
    # The email is queued with the stage but the worker dies before its on_commit send runs.
    assert dunning.case_advance(case_id=case.pk, now=case.opened_at) == "day0"
    email = dunning_emails(case).get()
    assert email.status == "queued" and mail.outbox == []
    run(case.opened_at, capture=django_capture_on_commit_callbacks)  # the dunning sweep does not send it twice
    assert mail.outbox == []
    assert outbox.emails_retry_due(now=timezone.now()) == 1
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 1
    assert outbox.emails_retry_due(now=timezone.now()) == 0
    run(case.opened_at, capture=django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_it_waits_for_the_lease_of_a_worker_that_may_still_be_sending(
    mapped_account, django_capture_on_commit_callbacks
):
    case = open_case(mapped_account)
    dunning.case_advance(case_id=case.pk, now=case.opened_at)
    email = dunning_emails(case).get()
    # Another worker took the lease and then died mid-send.
    OutboundEmail.objects.filter(pk=email.pk).update(lease_until=timezone.now() + outbox.LEASE, attempts=1)
    assert outbox.emails_retry_due(now=timezone.now()) == 0
    assert mail.outbox == []
    assert outbox.emails_retry_due(now=timezone.now() + outbox.LEASE + timedelta(seconds=1)) == 1
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.get(pk=email.pk).attempts == 2


def test_dry_run_changes_and_sends_nothing(mapped_account, django_capture_on_commit_callbacks):
    case = open_case(mapped_account, days_ago=8)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_dunning", "--dry-run", stdout=out)
    assert "would advance day7: 1" in out.getvalue()
    case.refresh_from_db()
    assert case.stage == "" and not dunning_emails().exists() and mail.outbox == []


def test_run_dunning_rejects_a_bad_now(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO"):
        call_command("run_dunning", "--now", "yesterday")


def test_it_updates_the_open_case_with_the_latest_attempt(mapped_account):
    first = open_case(mapped_account, days_ago=2, attempt_count=1)
    invoice = current_invoice(
        invoice_id="in_sub_dunning", customer="cus_dunning", subscription="sub_dunning", attempt_count=3
    )
    second = cases.case_record_failure(invoice=invoice, event_id="evt_later", event_at=timezone.now())
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.attempt_count == 3
    assert second.opened_at == first.opened_at  # age runs from the first failure


def test_recovery_unpauses_and_sends_payment_received(mapped_account, django_capture_on_commit_callbacks):
    case = open_case(mapped_account, days_ago=15)
    run(timezone.now(), capture=django_capture_on_commit_callbacks)
    mapped_account.refresh_from_db()
    assert mapped_account.is_paused
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_record_payment(
            subscription_id="sub_dunning", event_id="evt_paid", event_at=timezone.now(), reason="invoice.paid"
        )
    mapped_account.refresh_from_db()
    assert mapped_account.billing_state == "active"
    assert mail.outbox[-1].subject == "Payment received: your Levqor account is restored"
    case.refresh_from_db()
    assert case.status == "recovered" and case.closed_at is not None and case.next_action_at is None


def test_a_new_failure_after_recovery_opens_a_new_case(mapped_account):
    old = open_case(mapped_account, days_ago=20)
    cases.case_record_payment(
        subscription_id="sub_dunning", event_id="evt_p", event_at=timezone.now() - timedelta(days=10), reason="x"
    )
    new = open_case(mapped_account, days_ago=1)
    assert new.pk != old.pk and new.status == "pending"


# --- Staff actions --------------------------------------------------------------------


def test_staff_actions_go_through_services_and_are_audited(mapped_account, staff, django_capture_on_commit_callbacks):
    case = open_case(mapped_account)
    assert not services.case_resend_current(case=case, actor=staff)  # nothing sent yet
    run(case.opened_at, capture=django_capture_on_commit_callbacks)
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.case_resend_current(case=case, actor=staff)
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == mail.outbox[0].subject
    assert dunning_emails(case).get().resends == 1
    assert services.case_pause_account(case=case, actor=staff)
    assert not services.case_pause_account(case=case, actor=staff)
    assert Account.objects.get(pk=mapped_account.pk).is_paused
    case.refresh_from_db()
    assert services.case_unpause_account(case=case, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.case_mark_recovered(case=case, actor=staff)
    assert not services.case_mark_recovered(case=case, actor=staff)
    actions = set(AuditEvent.objects.filter(actor=staff).values_list("action", flat=True))
    assert {
        "email.resend_requested",
        "dunning.account_paused",
        "dunning.account_unpaused",
        "dunning.case_recovered",
    } <= actions


def test_the_timeline_shows_emails_and_state_changes(mapped_account, django_capture_on_commit_callbacks):
    from billing import selectors

    case = open_case(mapped_account, days_ago=15)
    run(timezone.now(), capture=django_capture_on_commit_callbacks)
    kinds = {(entry["kind"], entry["what"]) for entry in selectors.case_timeline(case=case)}
    assert ("email", "dunning-day14") in kinds
    assert ("audit", "dunning.case_opened") in kinds
    assert ("audit", "dunning.stages_advanced") in kinds
    assert ("audit", "account.billing_state_changed") in kinds


def test_the_timeline_shows_the_case_s_webhooks(
    ls, account_with_customer, deliver, staff_client, django_capture_on_commit_callbacks
):
    """A real signed `invoice.payment_failed` opens the case; it is on the
    timeline (and the admin page) as a webhook entry, another subscription's
    event is not."""
    from billing import selectors

    from .conftest import event

    stripe.api_key = ls.key
    try:
        _, plan = ls.product_and_plan(amount=2900)
        ls.card(account_with_customer.stripe_customer_id, "4242424242424242")
        sub = ls.subscription(account_with_customer.stripe_customer_id, plan.id)
        customer = account_with_customer.stripe_customer_id
        failed = event(
            "invoice.payment_failed",
            current_invoice(invoice_id=sub.latest_invoice.id, customer=customer, subscription=sub.id),
        )
        assert deliver(failed).status_code == 200
        other = event(
            "invoice.payment_failed",
            current_invoice(invoice_id="in_someone_else", customer=customer, subscription="sub_someone_else"),
        )
        assert deliver(other).status_code == 200
    finally:
        stripe.api_key = None
    assert StripeEvent.objects.get(stripe_id=failed["id"]).status == "processed"
    assert StripeEvent.objects.get(stripe_id=other["id"]).subscription_id == "sub_someone_else"
    case = DunningCase.objects.get(stripe_subscription_id=sub.id, status="pending")
    run(timezone.now(), capture=django_capture_on_commit_callbacks)

    timeline = selectors.case_timeline(case=case)
    kinds = {(entry["kind"], entry["what"]) for entry in timeline}
    assert ("webhook", "invoice.payment_failed") in kinds
    assert ("email", "dunning-day0") in kinds
    assert ("audit", "dunning.case_opened") in kinds
    webhooks = [entry for entry in timeline if entry["kind"] == "webhook"]
    assert [entry["detail"] for entry in webhooks] == [f"{failed['id']} · opened case #{case.pk}"]
    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)

    page = staff_client.get(reverse("admin:billing_dunningcase_change", args=[case.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<td>webhook</td><td>invoice.payment_failed</td>" in body
    assert failed["id"] in body
    assert other["id"] not in body


def test_delivering_the_same_emails_twice_sends_them_once(mapped_account):
    case = open_case(mapped_account)
    dunning.case_advance(case_id=case.pk, now=case.opened_at)  # queued; its on_commit send never ran
    ids = list(dunning_emails().values_list("pk", flat=True))
    assert outbox.emails_deliver(email_ids=ids) == 1
    assert outbox.emails_deliver(email_ids=ids) == 0
    assert len(mail.outbox) == 1
    assert dunning_emails(status="sent").count() == 1


def test_it_reads_the_decline_code_dj_stripe_synced(
    mapped_account, ls, webhook_path, django_capture_on_commit_callbacks
):
    """Real Stripe reports the decline code on the invoice's PaymentIntent
    (`last_payment_error.decline_code`), which dj-stripe syncs before our
    handler runs; the invoice payload itself carries none."""
    from djstripe.models import PaymentIntent

    from .conftest import fixture

    data = fixture("payment_intent")
    data.update(
        id="pi_lostcard",
        status="requires_payment_method",
        last_payment_error={
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "lost_card",
            "message": "Your card has been declined.",
        },
    )
    PaymentIntent.sync_from_stripe_data(data, api_key=ls.key)
    case = open_case(mapped_account, next_payment_attempt=None, payment_intent="pi_lostcard")
    assert case.hard_decline
    assert (case.failure_code, case.decline_code) == ("card_declined", "lost_card")
    assert case.failure_reason == "Your card has been declined."
    run(case.opened_at, capture=django_capture_on_commit_callbacks)
    assert "please add a new card" in mail.outbox[0].body
