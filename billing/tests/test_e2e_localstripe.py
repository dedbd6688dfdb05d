"""End to end against localstripe: a real failing payment (3-D Secure, then
declined), real signed webhooks to the live test server, the sweep at day 0,
7 and 14 (time travel with --now), then the customer pays through localstripe."""

import time
from datetime import timedelta
from io import StringIO

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from billing.models import DunningCase, StripeEvent
from levqor.accounts.models import Account

from .conftest import dunning_emails

pytestmark = pytest.mark.django_db(transaction=True)

DECLINE_AFTER_3DS = "4000008260003178"
GOOD_CARD = "4242424242424242"


def wait_for(predicate, timeout=15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def run_dunning(at) -> str:
    out = StringIO()
    call_command("run_dunning", "--now", at.isoformat(), stdout=out)
    return out.getvalue()


def test_it_runs_the_dunning_flow_end_to_end(live_server, webhook_path, ls, account_with_customer):
    account = account_with_customer
    ls.register_webhook(live_server.url + webhook_path)
    _, plan = ls.product_and_plan(amount=2900)
    ls.card(account.stripe_customer_id, DECLINE_AFTER_3DS)
    subscription = ls.subscription(account.stripe_customer_id, plan.id)
    intent = subscription.latest_invoice.payment_intent
    assert intent.status == "requires_action"
    status, body = ls.authenticate(intent.id, intent.client_secret)
    assert status == 402, body

    # localstripe signs and posts invoice.payment_failed to the live server.
    assert wait_for(lambda: DunningCase.objects.filter(stripe_subscription_id=subscription.id).exists()), list(
        StripeEvent.objects.values_list("type", "status", "last_error")
    )
    case = DunningCase.objects.get(stripe_subscription_id=subscription.id)
    assert case.account == account
    assert case.status == "pending"
    assert case.stripe_invoice_id == subscription.latest_invoice.id
    assert (case.amount_due, case.currency) == (2900, "gbp")
    assert case.failure_code == "card_declined"
    assert case.hosted_invoice_url.startswith("https://")
    failed = StripeEvent.objects.get(type="invoice.payment_failed")
    assert failed.status == "processed" and failed.trigger.processed

    # The day-0 email leaves as the failure is processed, not at the sweep.
    assert wait_for(lambda: dunning_emails(case, stage="day0", status="sent").exists())
    start = case.opened_at
    run_dunning(start + timedelta(minutes=1))  # already sent: nothing more
    run_dunning(start + timedelta(days=7, minutes=1))
    run_dunning(start + timedelta(days=14, minutes=1))
    run_dunning(start + timedelta(days=14, minutes=2))  # nothing left: no fourth email
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == 3, subjects
    assert "Payment failed, please update your card to avoid interruption." in mail.outbox[0].body
    assert "Second reminder, service will be paused if payment is not fixed." in mail.outbox[1].body
    assert "Account paused due to non-payment, contact support to restore." in mail.outbox[2].body
    assert all(case.hosted_invoice_url in message.body for message in mail.outbox)
    assert all("£29.00" in message.body for message in mail.outbox)
    assert all(message.to == ["owner@acme.test"] for message in mail.outbox)
    assert all(message.alternatives[0][1] == "text/html" for message in mail.outbox)
    account.refresh_from_db()
    assert account.billing_state == Account.BillingState.PAUSED_BILLING
    case.refresh_from_db()
    assert case.stage == "day14"

    # The customer adds a working card and pays the invoice (in localstripe).
    ls.card(account.stripe_customer_id, GOOD_CARD)
    stripe.Invoice.pay(case.stripe_invoice_id, api_key=ls.key)
    assert wait_for(lambda: DunningCase.objects.get(pk=case.pk).status == "recovered"), list(
        StripeEvent.objects.values_list("type", "status", "last_error")
    )
    account.refresh_from_db()
    assert account.billing_state == Account.BillingState.ACTIVE
    assert wait_for(lambda: dunning_emails(case, stage="recovered", status="sent").exists())
    assert "Payment received" in mail.outbox[-1].subject
    assert dunning_emails(case, status="sent").count() == 4
    case.refresh_from_db()
    assert case.closed_at is not None and case.closed_at <= timezone.now()
    # Every event localstripe sent (payment intents, charges, invoices,
    # subscriptions) lands, including those still in flight.
    assert wait_for(lambda: not StripeEvent.objects.exclude(status="processed").exists()), list(
        StripeEvent.objects.exclude(status="processed").values_list("type", "status", "last_error")
    )
    assert not StripeEvent.objects.filter(attempts__gt=1).exists()
