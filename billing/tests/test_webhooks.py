"""The webhook endpoint and event processing, through the real request
cycle with signed payloads; dj-stripe syncs from the session's localstripe."""

import json
import threading
import time
import uuid
from io import StringIO

import pytest
import stripe
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from djstripe.models import WebhookEventTrigger

from billing import intake, tasks
from billing.models import DunningCase, StripeEvent
from compliance.models import AuditEvent
from levqor.accounts.models import Account
from levqor.lib.batcher import Batcher
from status.models import ExternalContact

from .conftest import current_invoice, current_subscription, dunning_emails, event, sign, webhook_url_path

pytestmark = pytest.mark.django_db

GOOD_CARD = "4242424242424242"


@pytest.fixture
def world(ls, account_with_customer):
    """A paying customer in localstripe: customer, card, subscription, invoice."""
    _, plan = ls.product_and_plan(amount=2900)
    ls.card(account_with_customer.stripe_customer_id, GOOD_CARD)
    sub = ls.subscription(account_with_customer.stripe_customer_id, plan.id)
    return {
        "account": account_with_customer,
        "customer": account_with_customer.stripe_customer_id,
        "subscription": sub.id,
        "invoice": sub.latest_invoice.id,
        "ls": ls,
    }


def localstripe_invoice(world, **changes) -> dict:
    """localstripe's own (2017-shaped) invoice: subscription at the top level
    (its newer `parent` property removed, as in the older API)."""
    invoice = world["ls"].get(f"/v1/invoices/{world['invoice']}")
    invoice.pop("parent", None)
    invoice.update(changes)
    return invoice


def invoice_for(shape: str, world, **changes) -> dict:
    if shape == "current":
        return current_invoice(
            invoice_id=world["invoice"], customer=world["customer"], subscription=world["subscription"], **changes
        )
    base = {"amount_due": 2900, "attempt_count": 1, "next_payment_attempt": int(time.time()) + 3 * 86400}
    return localstripe_invoice(world, **{**base, **changes})


def subscription_for(shape: str, world, status: str) -> dict:
    if shape == "current":
        return current_subscription(subscription_id=world["subscription"], customer=world["customer"], status=status)
    sub = world["ls"].get(f"/v1/subscriptions/{world['subscription']}")
    sub["status"] = status
    return sub


@pytest.fixture(autouse=True)
def _stripe_key(stripe_settings):
    stripe.api_key = stripe_settings.STRIPE_TEST_SECRET_KEY
    yield
    stripe.api_key = None


# --- The endpoint ----------------------------------------------------------------


def test_it_answers_200_and_processes_a_signed_event(deliver, world):
    payload = event("invoice.payment_failed", invoice_for("current", world))
    response = deliver(payload)
    assert response.status_code == 200, response.content
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert stored.status == "processed" and stored.attempts == 1
    assert stored.trigger.processed and stored.trigger.valid
    assert stored.subscription_id == world["subscription"]
    assert DunningCase.objects.filter(stripe_subscription_id=world["subscription"], status="pending").count() == 1


def test_it_acks_without_any_stripe_call_in_the_request(client, webhook_path, world):
    """Processing is deferred to on_commit: the request itself only stores."""
    payload = event("invoice.payment_failed", invoice_for("current", world))
    body = json.dumps(payload).encode()
    previous = stripe.api_base
    stripe.api_base = "http://127.0.0.1:9"  # nothing listens: any API call in the request would fail it
    try:
        response = client.post(
            webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
        )
    finally:
        stripe.api_base = previous
    assert response.status_code == 200
    assert StripeEvent.objects.get(stripe_id=payload["id"]).status == "received"


WEIRD = json.dumps({"id": "evt_odd", "object": "event", "type": "x", "created": "soon", "data": []}).encode()
HUGE_TIME = json.dumps(
    {"id": "evt_t", "object": "event", "type": "x", "created": 10**20, "data": {"object": {"object": "invoice"}}}
).encode()


@pytest.mark.parametrize(
    "mutate, status",
    [
        (lambda body, headers, path: (body, {"HTTP_STRIPE_SIGNATURE": sign(body, secret="whsec_wrong")}, path), 400),
        (lambda body, headers, path: (body, {}, path), 400),
        (lambda body, headers, path: (body, headers, webhook_url_path(uuid.uuid4())), 404),
        (lambda body, headers, path: (b"{not json", {"HTTP_STRIPE_SIGNATURE": sign(b"{not json")}, path), 400),
        (lambda body, headers, path: (b"[1, 2]", {"HTTP_STRIPE_SIGNATURE": sign(b"[1, 2]")}, path), 400),
        (
            lambda body, headers, path: (
                b"\xff\xfe garbage",
                {"HTTP_STRIPE_SIGNATURE": sign(b"\xff\xfe garbage")},
                path,
            ),
            400,
        ),
        (
            lambda body, headers, path: (
                json.dumps({"id": "evt_big", "object": "event", "pad": "x" * 300_000}).encode(),
                {"HTTP_STRIPE_SIGNATURE": "t=1,v1=00"},
                path,
            ),
            413,
        ),
        (
            lambda body, headers, path: (body, {"HTTP_STRIPE_SIGNATURE": sign(body, at=int(time.time()) - 3600)}, path),
            400,
        ),
        (lambda body, headers, path: (WEIRD, {"HTTP_STRIPE_SIGNATURE": sign(WEIRD)}, path), 400),
        (lambda body, headers, path: (HUGE_TIME, {"HTTP_STRIPE_SIGNATURE": sign(HUGE_TIME)}, path), 400),
    ],
    ids=[
        "bad-signature",
        "no-signature",
        "unknown-endpoint",
        "malformed-json",
        "not-an-event",
        "not-utf8",
        "too-big",
        "replayed-old-signature",
        "signed-odd-envelope",
        "signed-impossible-time",
    ],
)
def test_it_refuses_bad_deliveries_with_4xx_and_processes_nothing(client, webhook_path, mutate, status):
    body = json.dumps(
        event("invoice.payment_failed", {"id": "in_x", "object": "invoice", "customer": "cus_x"})
    ).encode()
    body, headers, path = mutate(body, {"HTTP_STRIPE_SIGNATURE": sign(body)}, webhook_path)
    response = client.post(path, data=body, content_type="application/json", **headers)
    assert response.status_code == status
    assert StripeEvent.objects.count() == 0
    assert not WebhookEventTrigger.objects.exists()


def test_it_refuses_get(client, webhook_path):
    assert client.get(webhook_path).status_code == 405


def test_it_acks_valid_events_it_does_not_handle(deliver, world):
    payload = event("customer.updated", {"id": world["customer"], "object": "customer", "metadata": {}})
    assert deliver(payload).status_code == 200
    assert StripeEvent.objects.get(stripe_id=payload["id"]).status == "processed"
    payload = event("balance.available", {"object": "balance", "available": []})
    assert deliver(payload).status_code == 200


def test_it_stores_and_acks_events_for_objects_nobody_knows(deliver, ls):
    payload = event(
        "invoice.payment_failed",
        current_invoice(invoice_id="in_nobodyknows", customer="cus_nobodyknows", subscription="sub_nobodyknows"),
    )
    response = deliver(payload)
    assert response.status_code == 200
    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert stored.status == "processed"
    assert stored.note.startswith("ignored: object unknown to Stripe")
    assert not DunningCase.objects.exists()


def test_it_stores_events_for_stripe_customers_with_no_account(deliver, ls, world):
    other = ls.customer(email="stranger@example.test")
    payload = event(
        "invoice.payment_failed",
        current_invoice(invoice_id=world["invoice"], customer=other.id, subscription=world["subscription"]),
    )
    assert deliver(payload).status_code == 200
    # Kept to be applied once staff link the customer (see test_unmatched).
    assert StripeEvent.objects.get(stripe_id=payload["id"]).status == "unmatched"
    assert not DunningCase.objects.exists()


# --- Replays: every handled type, both shapes, twice and in reverse order ---------------


def _deliver_all(deliver, events, order):
    sequence = list(events) if order == "forward" else list(reversed(events))
    for payload in sequence:
        for _ in range(2):
            assert deliver(payload).status_code == 200


@pytest.mark.parametrize("shape", ["current", "localstripe"])
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_it_opens_one_case_for_a_failure_delivered_twice(deliver, world, shape, order):
    now = int(time.time())
    first = event("invoice.payment_failed", invoice_for(shape, world, attempt_count=1), created=now - 100)
    second = event("invoice.payment_failed", invoice_for(shape, world, attempt_count=2), created=now - 50)
    _deliver_all(deliver, [first, second], order)
    case = DunningCase.objects.get()
    assert case.status == "pending"
    assert case.attempt_count == 2  # the later attempt wins whatever the order
    assert case.stripe_subscription_id == world["subscription"]
    assert case.amount_due == 2900
    assert AuditEvent.objects.filter(action="dunning.case_opened").count() == 1
    assert set(StripeEvent.objects.values_list("deliveries", flat=True)) == {2}


RECOVERIES = ["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]


def _recovery(kind, shape, world, created):
    if kind == "customer.subscription.updated":
        return event(kind, subscription_for(shape, world, "active"), created=created, previous={"status": "past_due"})
    return event(
        kind, invoice_for(shape, world, status="paid", attempt_count=2, next_payment_attempt=None), created=created
    )


@pytest.mark.parametrize("shape", ["current", "localstripe"])
@pytest.mark.parametrize("kind", RECOVERIES)
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_it_recovers_once_and_never_reopens(deliver, world, shape, kind, order):
    now = int(time.time())
    failed = event("invoice.payment_failed", invoice_for(shape, world), created=now - 100)
    paid = _recovery(kind, shape, world, created=now - 50)
    _deliver_all(deliver, [failed, paid], order)
    assert not DunningCase.objects.filter(status="pending").exists()
    if order == "forward":
        case = DunningCase.objects.get()
        assert case.status == "recovered"
        assert dunning_emails(case, stage="recovered", status="sent").count() == 1
        assert AuditEvent.objects.filter(action="dunning.case_recovered").count() == 1
    else:
        # The payment came first; the older failure arriving late opens nothing.
        assert not DunningCase.objects.exists()
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"}


@pytest.mark.parametrize("shape", ["current", "localstripe"])
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_it_cancels_on_subscription_deleted(deliver, world, shape, order):
    now = int(time.time())
    failed = event("invoice.payment_failed", invoice_for(shape, world), created=now - 100)
    deleted = event("customer.subscription.deleted", subscription_for(shape, world, "canceled"), created=now - 50)
    _deliver_all(deliver, [failed, deleted], order)
    assert not DunningCase.objects.filter(status="pending").exists()
    world["account"].refresh_from_db()
    assert world["account"].billing_state == "canceled"
    if order == "forward":
        assert DunningCase.objects.get().status == "canceled"
    else:
        assert not DunningCase.objects.exists()


def test_an_old_subscription_ending_after_a_resubscribe_leaves_the_account_paying(deliver, world):
    now = int(time.time())
    _, plan = world["ls"].product_and_plan(amount=4900)
    new = world["ls"].subscription(world["customer"], plan.id)
    created = current_subscription(subscription_id=new.id, customer=world["customer"], status="active")
    deliver(event("customer.subscription.created", created, created=now - 60))
    old = subscription_for("current", world, "canceled")
    deliver(event("customer.subscription.deleted", old, created=now - 50))
    world["account"].refresh_from_db()
    assert world["account"].billing_state == "active"
    assert StripeEvent.objects.get(type="customer.subscription.deleted").status == "processed"


def test_it_does_not_recover_on_a_payment_older_than_the_failure(deliver, world):
    now = int(time.time())
    old_payment = event("invoice.paid", invoice_for("current", world, status="paid"), created=now - 500)
    failure = event("invoice.payment_failed", invoice_for("current", world), created=now - 100)
    _deliver_all(deliver, [failure, old_payment], "forward")
    assert DunningCase.objects.get().status == "pending"


def test_it_ignores_subscription_updates_that_are_not_active(deliver, world):
    now = int(time.time())
    deliver(event("invoice.payment_failed", invoice_for("current", world), created=now - 100))
    deliver(event("customer.subscription.updated", subscription_for("current", world, "past_due"), created=now - 50))
    assert DunningCase.objects.get().status == "pending"


# --- Failures, retries and reprocessing ---------------------------------------------------


def test_it_keeps_and_retries_an_event_while_stripe_is_unreachable(deliver, world, monkeypatch):
    monkeypatch.setattr(stripe, "max_network_retries", 0)  # SDK retries would wait 1.5 s to fail alike
    payload = event("invoice.payment_failed", invoice_for("current", world))
    previous = stripe.api_base
    stripe.api_base = "http://127.0.0.1:9"  # the Stripe API is down
    try:
        assert deliver(payload).status_code == 200
        stored = StripeEvent.objects.get(stripe_id=payload["id"])
        assert stored.status == "failed" and stored.attempts == 1
        assert "APIConnectionError" in stored.last_error
        assert stored.trigger.exception and not stored.trigger.processed
        # The status page learns that Stripe could not be reached.
        contact = ExternalContact.objects.get(name="stripe")
        assert contact.ok is False and contact.error == "APIConnectionError"
        assert not DunningCase.objects.exists()  # the sync and the handlers rolled back together
        assert tasks.events_retry() == 0  # backing off
        StripeEvent.objects.filter(pk=stored.pk).update(
            last_attempt_at=stored.last_attempt_at - intake.stale_after() * 2
        )
        tasks.events_retry()  # still down: a second failed attempt
        assert StripeEvent.objects.get(pk=stored.pk).attempts == 2
    finally:
        stripe.api_base = previous
    StripeEvent.objects.filter(pk=stored.pk).update(last_attempt_at=stored.last_attempt_at - intake.stale_after() * 10)
    assert tasks.events_retry() == 1
    stored.refresh_from_db()
    assert stored.status == "processed" and stored.attempts == 3 and stored.last_error == ""
    assert stored.trigger.processed and not stored.trigger.exception
    assert ExternalContact.objects.get(name="stripe").ok is True
    assert DunningCase.objects.filter(status="pending").count() == 1


def test_it_stops_retrying_after_max_attempts_and_reprocess_lands_it(deliver, world, monkeypatch):
    monkeypatch.setattr(stripe, "max_network_retries", 0)  # SDK retries would wait 1.5 s to fail alike
    payload = event("invoice.payment_failed", invoice_for("current", world))
    previous = stripe.api_base
    stripe.api_base = "http://127.0.0.1:9"
    try:
        deliver(payload)
        stored = StripeEvent.objects.get(stripe_id=payload["id"])
        StripeEvent.objects.filter(pk=stored.pk).update(attempts=intake.max_attempts())
        StripeEvent.objects.filter(pk=stored.pk).update(last_attempt_at=stored.last_attempt_at.replace(year=2000))
        assert tasks.events_retry() == 0
        assert intake.event_process(event_pk=stored.pk) == "skipped"  # a late queue retry does nothing
    finally:
        stripe.api_base = previous
    out = StringIO()
    call_command("reprocess_stripe_events", "--failed", stdout=out)
    assert f"{payload['id']}: processed" in out.getvalue()
    assert StripeEvent.objects.get(pk=stored.pk).status == "processed"
    assert DunningCase.objects.count() == 1
    out = StringIO()
    call_command("reprocess_stripe_events", "--id", payload["id"], stdout=out)
    assert "skipped" in out.getvalue()  # processed events are never run twice
    assert DunningCase.objects.count() == 1


def test_it_re_enqueues_a_redelivery_of_a_failed_event(deliver, world, monkeypatch):
    monkeypatch.setattr(stripe, "max_network_retries", 0)  # SDK retries would wait 1.5 s to fail alike
    payload = event("invoice.payment_failed", invoice_for("current", world))
    previous = stripe.api_base
    stripe.api_base = "http://127.0.0.1:9"
    try:
        deliver(payload)
    finally:
        stripe.api_base = previous
    assert StripeEvent.objects.get().status == "failed"
    deliver(payload)  # Stripe delivers it again
    assert StripeEvent.objects.get().status == "processed"
    assert DunningCase.objects.count() == 1


def test_it_picks_up_events_the_queue_lost(client, webhook_path, world):
    payload = event("invoice.payment_failed", invoice_for("current", world))
    body = json.dumps(payload).encode()
    # No on_commit capture: the enqueue never runs, as if the broker were down.
    assert (
        client.post(
            webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
        ).status_code
        == 200
    )
    stored = StripeEvent.objects.get()
    assert stored.status == "received"
    assert tasks.events_retry() == 0  # not stale yet
    StripeEvent.objects.filter(pk=stored.pk).update(received_at=stored.received_at - intake.stale_after() * 2)
    assert tasks.events_retry() == 1
    assert StripeEvent.objects.get().status == "processed"


def test_it_takes_few_queries_to_acknowledge(client, webhook_path, world):
    body = json.dumps(event("invoice.payment_failed", invoice_for("current", world))).encode()
    with CaptureQueriesContext(connection) as queries:
        client.post(webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    assert len(queries) <= 10, [q["sql"] for q in queries]


def test_stripe_setup_is_idempotent_and_needs_no_stripe(db, stripe_settings):
    first, second = StringIO(), StringIO()
    call_command("stripe_setup", stdout=first)
    call_command("stripe_setup", stdout=second)
    assert first.getvalue() == second.getvalue()
    assert first.getvalue().startswith("/stripe/webhook/")


def test_account_state_is_untouched_by_unhandled_events(deliver, world):
    deliver(event("invoice.created", invoice_for("current", world, status="draft")))
    assert Account.objects.get(pk=world["account"].pk).billing_state == "active"


def test_an_update_of_an_already_active_subscription_does_not_recover(deliver, world):
    now = int(time.time())
    deliver(event("invoice.payment_failed", invoice_for("current", world), created=now - 100))
    same_status = event(
        "customer.subscription.updated",
        subscription_for("current", world, "active"),
        created=now - 50,
        previous={"metadata": {}},
    )
    deliver(same_status)
    assert DunningCase.objects.get().status == "pending"


def test_the_body_limit_is_a_setting(client, webhook_path, settings):
    settings.LEVQOR_STRIPE_WEBHOOK_MAX_BYTES = 2000
    body = json.dumps({"id": "evt_pad", "object": "event", "pad": "x" * 3000}).encode()
    response = client.post(webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 413


def test_an_event_whose_worker_keeps_dying_ends_up_failed(world, client, webhook_path):
    payload = event("invoice.payment_failed", invoice_for("current", world))
    body = json.dumps(payload).encode()
    client.post(webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    stored = StripeEvent.objects.get()
    long_ago = stored.received_at - intake.stale_after() * 2
    # A worker took it and died; it is retried while attempts remain...
    StripeEvent.objects.filter(pk=stored.pk).update(status="processing", attempts=1, last_attempt_at=long_ago)
    assert tasks.events_retry() == 1
    assert StripeEvent.objects.get().status == "processed"
    # ...and with none left it is marked failed for a person to look at.
    StripeEvent.objects.filter(pk=stored.pk).update(
        status="processing", attempts=intake.max_attempts(), last_attempt_at=long_ago
    )
    assert tasks.events_retry() == 0
    stored.refresh_from_db()
    assert stored.status == "failed" and "died" in stored.last_error


@pytest.mark.parametrize("decline, hard", [("stolen_card", True), ("insufficient_funds", False)])
def test_it_takes_the_decline_code_from_payment_intent_payment_failed(deliver, world, decline, hard):
    """Current API: the invoice carries no decline code; the PaymentIntent
    event that Stripe sends with it does."""
    from .conftest import fixture

    now = int(time.time())
    invoice = invoice_for("current", world, next_payment_attempt=None)
    deliver(event("invoice.payment_failed", invoice, created=now - 10))
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
    payload = event("payment_intent.payment_failed", intent, created=now - 9)
    deliver(payload)
    deliver(payload)
    case = DunningCase.objects.get()
    assert (case.decline_code, case.hard_decline) == (decline, hard)
    assert StripeEvent.objects.get(stripe_id=payload["id"]).status == "processed"
    assert AuditEvent.objects.filter(action="dunning.case_updated").count() == 1


def _post(client, path, payload):
    body = json.dumps(payload).encode()
    return client.post(path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))


@pytest.mark.django_db(transaction=True)
def test_events_are_queued_after_their_answers_and_each_processed_once(client, webhook_path, world, settings):
    # The hand-over as in production (a batcher's thread queues the work);
    # django-q2 itself still runs the queued task inline in tests.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    gate = threading.Event()
    batches = []

    def send(pks):
        gate.wait(10)
        batches.append(list(pks))
        try:
            intake.enqueue_many(pks)
        finally:
            connections.close_all()  # this thread's own (the test database is emptied at the end)

    previous, intake._batches = intake._batches, Batcher(send, name="test-hand-over", linger=0)
    try:
        for _ in range(3):
            assert (
                _post(client, webhook_path, event("invoice.payment_failed", invoice_for("current", world))).status_code
                == 200
            )
        # Answered and stored; the work waits for the hand-over.
        assert list(StripeEvent.objects.values_list("status", flat=True)) == ["received"] * 3
        gate.set()
        assert intake._batches.flush(30)
    finally:
        intake._batches = previous
    stored = StripeEvent.objects.order_by("pk")
    assert sorted(pk for batch in batches for pk in batch) == [e.pk for e in stored]
    assert [(e.status, e.attempts) for e in stored] == [("processed", 1)] * 3
    assert DunningCase.objects.count() == 1


def test_a_batch_goes_on_past_a_failing_event_and_raises_after_the_last(client, webhook_path, world):
    # Stored, not processed: no on_commit capture, as if not handed over yet.
    for _ in range(2):
        assert (
            _post(client, webhook_path, event("invoice.payment_failed", invoice_for("current", world))).status_code
            == 200
        )
    broken, good = StripeEvent.objects.order_by("pk")
    StripeEvent.objects.filter(pk=broken.pk).update(payload={"id": broken.stripe_id, "object": "event"})  # no data
    with pytest.raises(intake.EventsFailed, match=f"^{broken.pk}: "):
        intake.events_process(event_pks=[broken.pk, good.pk])
    broken.refresh_from_db()
    good.refresh_from_db()
    assert (broken.status, broken.attempts) == ("failed", 1)
    assert broken.last_error
    assert (good.status, good.attempts) == ("processed", 1)
    assert DunningCase.objects.count() == 1
    # Presented again, the batch runs only what failed.
    StripeEvent.objects.filter(pk=broken.pk).update(payload=json.loads(broken.trigger.body))
    assert intake.events_process(event_pks=[broken.pk, good.pk]) == {
        str(broken.pk): "processed",
        str(good.pk): "skipped",
    }
