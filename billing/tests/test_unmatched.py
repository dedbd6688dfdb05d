"""Nothing dropped on the floor: events that cannot be applied yet are kept
`unmatched` and applied when staff link the customer (or on reprocess); the
day-0 email leaves at once; the case timeline tells every event's outcome.
Real signed deliveries through the real request cycle, dj-stripe syncing
from the session's localstripe."""

import time
from datetime import timedelta
from io import StringIO

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from billing import dunning, intake, selectors, tasks
from billing.models import DunningCase, StripeEvent
from compliance.models import AuditEvent
from levqor.accounts.models import Account

from .conftest import current_invoice, dunning_emails, event, fixture

pytestmark = pytest.mark.django_db

GOOD_CARD = "4242424242424242"


@pytest.fixture(autouse=True)
def _stripe_key(stripe_settings):
    stripe.api_key = stripe_settings.STRIPE_TEST_SECRET_KEY
    yield
    stripe.api_key = None


@pytest.fixture
def stranger(ls):
    """A paying Stripe customer (in localstripe) that no account is linked to."""
    _, plan = ls.product_and_plan(amount=2900)
    customer = ls.customer(email="owner@acme.test")
    ls.card(customer.id, GOOD_CARD)
    sub = ls.subscription(customer.id, plan.id)
    return {"customer": customer.id, "subscription": sub.id, "invoice": sub.latest_invoice.id, "ls": ls}


def failure(world, *, created=None, **changes) -> dict:
    invoice = current_invoice(
        invoice_id=world["invoice"], customer=world["customer"], subscription=world["subscription"], **changes
    )
    return event("invoice.payment_failed", invoice, created=created)


def intent_failure(world, *, decline="insufficient_funds", created=None) -> dict:
    intent = fixture("payment_intent")
    intent.update(
        id=world["ls"].get(f"/v1/invoices/{world['invoice']}")["payment_intent"],
        customer=world["customer"],
        status="requires_payment_method",
        last_payment_error={
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline,
            "message": "Your card was declined.",
        },
    )
    return event("payment_intent.payment_failed", intent, created=created)


def link_in_admin(staff_client, capture, customer_id, account):
    url = reverse("admin:billing_stripeevent_link_customer")
    with capture(execute=True):
        return staff_client.post(url, {"customer": customer_id, "account": account.pk}, follow=True)


def test_it_keeps_a_failure_for_an_unlinked_customer_unmatched(deliver, stranger, customer_account):
    payload = failure(stranger)
    assert deliver(payload).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert stored.status == "unmatched"
    assert stored.processed_at is None
    assert stranger["customer"] in stored.note and "not linked" in stored.note
    assert not DunningCase.objects.exists()
    assert mail.outbox == []
    assert selectors.event_unmatched_count() == 1
    # A redelivery or a late queue retry changes nothing.
    assert deliver(payload).status_code == 200
    assert intake.event_process(event_pk=stored.pk) == "skipped"
    assert StripeEvent.objects.get(pk=stored.pk).status == "unmatched"


def test_it_opens_the_case_once_when_staff_link_the_customer_in_admin(
    deliver, stranger, customer_account, staff_client, django_capture_on_commit_callbacks
):
    payload = failure(stranger, attempt_count=2)
    deliver(payload)
    url = reverse("admin:billing_stripeevent_link_customer") + f"?customer={stranger['customer']}"
    page = staff_client.get(url).content.decode()
    assert payload["id"] in page  # the form lists what is waiting

    for _ in range(2):  # run twice: one case, one email
        response = link_in_admin(
            staff_client, django_capture_on_commit_callbacks, stranger["customer"], customer_account
        )
        assert response.status_code == 200
    assert f"Linked {stranger['customer']} to Acme Ltd" in response.content.decode()

    customer_account.refresh_from_db()
    assert customer_account.stripe_customer_id == stranger["customer"]
    case = DunningCase.objects.get()
    assert (case.account, case.status, case.stage) == (customer_account, "pending", "day0")
    assert case.stripe_subscription_id == stranger["subscription"]
    assert (case.amount_due, case.currency, case.attempt_count) == (2900, "gbp", 2)
    assert case.stripe_invoice_id == stranger["invoice"]
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert (stored.status, stored.case) == ("processed", case)
    assert stored.note == f"opened case #{case.pk}"
    assert [m.subject for m in mail.outbox] == ["Payment failed for your Levqor subscription (£29.00)"]
    assert AuditEvent.objects.filter(action="dunning.case_opened").count() == 1
    assert AuditEvent.objects.filter(action="billing.customer_linked").count() == 1
    assert selectors.event_unmatched_count() == 0


def test_it_refuses_to_link_a_customer_another_account_has(
    deliver, stranger, customer_account, other_customer, staff_client, django_capture_on_commit_callbacks
):
    deliver(failure(stranger))
    Account.objects.filter(pk=customer_account.pk).update(stripe_customer_id=stranger["customer"])
    response = link_in_admin(
        staff_client, django_capture_on_commit_callbacks, stranger["customer"], other_customer.account
    )
    assert f"{stranger['customer']} is already linked to Acme Ltd." in response.content.decode()
    assert Account.objects.get(pk=other_customer.account_id).stripe_customer_id is None
    response = link_in_admin(staff_client, django_capture_on_commit_callbacks, "not-a-customer", customer_account)
    assert "A Stripe customer id starts with cus_." in response.content.decode()


def test_it_applies_unmatched_events_when_the_account_gets_the_customer_id(
    deliver, stranger, customer_account, django_capture_on_commit_callbacks
):
    """Staff may link by editing the account (accounts admin): saving it applies them."""
    deliver(failure(stranger))
    customer_account.stripe_customer_id = stranger["customer"]
    with django_capture_on_commit_callbacks(execute=True):
        customer_account.save()
    assert DunningCase.objects.get().account == customer_account
    assert StripeEvent.objects.get().status == "processed"
    assert len(mail.outbox) == 1


def test_reprocess_applies_an_unmatched_event_once_the_customer_is_linked(deliver, stranger, customer_account):
    payload = failure(stranger)
    deliver(payload)
    out = StringIO()
    call_command("reprocess_stripe_events", "--unmatched", stdout=out)
    assert f"{payload['id']}: unmatched" in out.getvalue()  # still no account: kept, not dropped
    assert not DunningCase.objects.exists()

    # Linked without any hook (a data fix): the command applies it.
    Account.objects.filter(pk=customer_account.pk).update(stripe_customer_id=stranger["customer"])
    out = StringIO()
    call_command("reprocess_stripe_events", "--id", payload["id"], stdout=out)
    assert f"{payload['id']}: processed" in out.getvalue()
    out = StringIO()
    call_command("reprocess_stripe_events", "--id", payload["id"], stdout=out)
    assert f"{payload['id']}: skipped" in out.getvalue()
    case = DunningCase.objects.get()
    assert case.account == customer_account and case.amount_due == 2900
    assert AuditEvent.objects.filter(action="dunning.case_opened").count() == 1


def test_the_retry_schedule_applies_unmatched_events_whose_customer_was_linked(deliver, stranger, customer_account):
    deliver(failure(stranger))
    assert tasks.events_retry() == 0 and not DunningCase.objects.exists()
    Account.objects.filter(pk=customer_account.pk).update(stripe_customer_id=stranger["customer"])
    tasks.events_retry()
    tasks.events_retry()
    assert DunningCase.objects.get().account == customer_account
    assert StripeEvent.objects.get().status == "processed"


def test_a_late_failure_after_linking_a_paid_customer_is_ignored_with_the_reason(
    deliver, stranger, customer_account, django_capture_on_commit_callbacks
):
    now = int(time.time())
    deliver(failure(stranger, created=now - 100))
    paid = current_invoice(
        invoice_id=stranger["invoice"],
        customer=stranger["customer"],
        subscription=stranger["subscription"],
        status="paid",
    )
    deliver(event("invoice.paid", paid, created=now - 50))
    customer_account.stripe_customer_id = stranger["customer"]
    with django_capture_on_commit_callbacks(execute=True):
        customer_account.save()
    assert not DunningCase.objects.exists()  # paid before staff linked it: nothing to dun
    assert StripeEvent.objects.get(type="invoice.payment_failed").note == "ignored: late failure after recovery"


# --- The day-0 email leaves at once ----------------------------------------------------------


def test_it_sends_the_day0_email_when_the_failure_is_processed_not_at_the_sweep(
    deliver, ls, account_with_customer, django_capture_on_commit_callbacks
):
    _, plan = ls.product_and_plan(amount=2900)
    ls.card(account_with_customer.stripe_customer_id, GOOD_CARD)
    sub = ls.subscription(account_with_customer.stripe_customer_id, plan.id)
    world = {"customer": account_with_customer.stripe_customer_id, "subscription": sub.id}
    world["invoice"] = sub.latest_invoice.id
    payload = failure(world)
    deliver(payload)
    deliver(payload)  # a redelivery sends nothing more
    assert [m.subject for m in mail.outbox] == ["Payment failed for your Levqor subscription (£29.00)"]
    assert "Payment failed, please update your card to avoid interruption." in mail.outbox[0].body
    case = DunningCase.objects.get()
    assert case.stage == "day0"
    with django_capture_on_commit_callbacks(execute=True):
        result = dunning.dunning_run(now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        dunning.dunning_run(now=timezone.now())
    assert result.advanced == {} and len(mail.outbox) == 1
    assert dunning_emails(case, status="sent").count() == 1


# --- PaymentIntent failures: before or after the invoice's, on the timeline --------------------


@pytest.fixture
def linked(ls, account_with_customer):
    _, plan = ls.product_and_plan(amount=2900)
    ls.card(account_with_customer.stripe_customer_id, GOOD_CARD)
    sub = ls.subscription(account_with_customer.stripe_customer_id, plan.id)
    return {
        "customer": account_with_customer.stripe_customer_id,
        "subscription": sub.id,
        "invoice": sub.latest_invoice.id,
        "ls": ls,
    }


@pytest.mark.parametrize("order", ["intent-first", "invoice-first"])
def test_the_decline_code_lands_on_the_case_in_either_order(deliver, linked, order):
    now = int(time.time())
    intent = intent_failure(linked, decline="stolen_card", created=now - 10)
    invoice = failure(linked, created=now - 10, next_payment_attempt=None)
    for payload in [intent, invoice] if order == "intent-first" else [invoice, intent]:
        deliver(payload)
        deliver(payload)
    case = DunningCase.objects.get()
    assert (case.decline_code, case.failure_code, case.hard_decline) == ("stolen_card", "card_declined", True)
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert StripeEvent.objects.get(stripe_id=intent["id"]).case == case
    if order == "intent-first":
        assert "please add a new card" in mail.outbox[0].body  # the day-0 email knows it is a hard decline


def test_an_intent_failure_with_no_invoice_failure_is_let_go_after_an_hour(deliver, linked):
    """A one-off payment's failure never gets a case: unmatched only while its
    invoice failure could still come, then ignored with the reason."""
    deliver(intent_failure(linked, created=int(time.time()) - 60))
    stored = StripeEvent.objects.get()
    assert stored.status == "unmatched"
    tasks.events_retry()  # its invoice failure may still come
    assert StripeEvent.objects.get().status == "unmatched"
    # Two hours on (moved back instead: the schedule reads the clock).
    StripeEvent.objects.update(stripe_created=F("stripe_created") - timedelta(hours=2))
    tasks.events_retry()
    stored.refresh_from_db()
    assert stored.status == "processed"
    assert stored.note == "ignored: no invoice failure followed (not a subscription payment)"


def test_the_timeline_shows_every_event_that_touched_the_case_and_why(deliver, linked, staff_client):
    now = int(time.time())
    deliver(intent_failure(linked, created=now - 300))
    deliver(failure(linked, created=now - 300, attempt_count=1))
    paid = current_invoice(
        invoice_id=linked["invoice"], customer=linked["customer"], subscription=linked["subscription"], status="paid"
    )
    deliver(event("invoice.paid", paid, created=now - 200))
    late = failure(linked, created=now - 250, attempt_count=2)  # sent before the payment, delivered after
    deliver(late)
    case = DunningCase.objects.get()
    assert case.status == "recovered"

    page = staff_client.get(reverse("admin:billing_dunningcase_change", args=[case.pk])).content.decode()
    for what, outcome in [
        ("payment_intent.payment_failed", f"applied to case #{case.pk}: decline insufficient_funds"),
        ("invoice.payment_failed", f"opened case #{case.pk}"),
        ("invoice.paid", f"recovered case #{case.pk}"),
        ("invoice.payment_failed", "ignored: late failure after recovery"),
    ]:
        assert f"<td>webhook</td><td>{what}</td>" in page
        assert outcome in page, outcome
    assert f"{late['id']} · ignored: late failure after recovery" in page
    assert "dunning-recovered" in page
