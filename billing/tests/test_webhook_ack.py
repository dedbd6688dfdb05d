"""The webhook acknowledgement's storage: what one delivery stores, that a
redelivery counts instead of storing, that the endpoint's secret is read
fresh when it changes, and that deliveries of one event at once store it
once. No processing: the enqueue is recorded, not run."""

import json
import threading
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from billing import intake
from billing.models import StripeEvent

from .conftest import WEBHOOK_SECRET, event, sign

ROTATED = "whsec_levqor_rotated_secret_98765"


@pytest.fixture
def enqueued(monkeypatch):
    """The event ids handed to the task queue (after commit)."""
    pks = []
    monkeypatch.setattr(intake, "enqueue", pks.append)
    return pks


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def post(client, path, payload, *, secret=WEBHOOK_SECRET):
    body = json.dumps(payload).encode()
    return client.post(
        path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body, secret=secret)
    )


def an_invoice_event() -> dict:
    invoice = {"id": "in_ack", "object": "invoice", "customer": "cus_ack", "parent": None, "subscription": "sub_ack"}
    return event("invoice.payment_failed", invoice)


@pytest.mark.django_db
def test_it_stores_the_delivery_and_the_event_and_enqueues_it_once(client, webhook_path, enqueued, committing):
    payload = an_invoice_event()
    with committing():
        response = post(client, webhook_path, payload)
    assert response.status_code == 200
    assert response.json() == {"received": payload["id"], "duplicate": False, "status": "received"}
    stored = StripeEvent.objects.get()
    assert (stored.stripe_id, stored.type, stored.livemode) == (payload["id"], "invoice.payment_failed", False)
    assert stored.stripe_created.timestamp() == payload["created"]
    assert (stored.customer_id, stored.subscription_id, stored.object_id) == ("cus_ack", "sub_ack", "in_ack")
    assert stored.payload == payload
    assert (stored.status, stored.attempts, stored.deliveries) == ("received", 0, 1)
    trigger = stored.trigger
    assert json.loads(trigger.body) == payload
    assert trigger.valid and not trigger.processed
    assert trigger.headers["Stripe-Signature"].startswith("t=")
    assert trigger.remote_ip == "127.0.0.1"
    assert trigger.webhook_endpoint == WebhookEndpoint.objects.get()
    assert trigger.djstripe_version
    assert enqueued == [stored.pk]


@pytest.mark.django_db
def test_it_stores_every_header_as_stripe_sent_it(client, webhook_path, enqueued):
    payload = an_invoice_event()
    body = json.dumps(payload).encode()
    signature = sign(body)
    response = client.post(
        webhook_path,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
        HTTP_USER_AGENT="Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        HTTP_CACHE_CONTROL="no-cache",
        HTTP_X_SOME_NEW_HEADER="kept as sent",
    )
    assert response.status_code == 200
    assert StripeEvent.objects.get().trigger.headers == {
        "Cookie": "",  # the test client always sends one
        "Content-Length": str(len(body)),
        "Content-Type": "application/json",
        "Stripe-Signature": signature,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Cache-Control": "no-cache",
        "X-Some-New-Header": "kept as sent",
    }


@pytest.mark.django_db
def test_a_redelivery_counts_and_stores_no_second_event(client, webhook_path, enqueued, committing):
    payload = an_invoice_event()
    with committing():
        post(client, webhook_path, payload)
    with committing():
        response = post(client, webhook_path, payload)
    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    stored = StripeEvent.objects.get()
    assert stored.deliveries == 2
    assert WebhookEventTrigger.objects.count() == 2  # every delivery's raw request is kept
    assert enqueued == [stored.pk]  # received, not failed: not handed over again


@pytest.mark.django_db
def test_it_acknowledges_in_one_statement_on_postgresql(client, webhook_path, enqueued):
    if connection.vendor != "postgresql":
        pytest.skip("one statement on PostgreSQL; SQLite takes the ORM path")
    post(client, webhook_path, an_invoice_event())  # the process reads the endpoint once
    with CaptureQueriesContext(connection) as queries:
        assert post(client, webhook_path, an_invoice_event()).status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]


def prepared_stores() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%billing_stripeevent%%'")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_acknowledgement_is_planned_once_per_connection_on_postgresql(client, webhook_path, enqueued):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    payloads = [an_invoice_event() for _ in range(3)]
    for payload in payloads:
        assert post(client, webhook_path, payload).status_code == 200
    assert prepared_stores() == 1  # one server-side statement, executed three times
    assert set(StripeEvent.objects.values_list("stripe_id", flat=True)) == {p["id"] for p in payloads}
    assert StripeEvent.objects.get(stripe_id=payloads[1]["id"]).payload == payloads[1]


@pytest.mark.django_db
def test_behind_a_pooler_the_acknowledgement_prepares_nothing(client, webhook_path, enqueued, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    # Django's setting for a pooler in transaction mode (PgBouncer), which
    # cannot keep a prepared statement between transactions.
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    payload = an_invoice_event()
    assert post(client, webhook_path, payload).status_code == 200
    assert prepared_stores() == 0
    assert StripeEvent.objects.get().stripe_id == payload["id"]


@pytest.mark.django_db
def test_a_rotated_endpoint_secret_is_honoured_at_once(client, webhook_path, enqueued):
    before = an_invoice_event()
    assert post(client, webhook_path, before).status_code == 200  # the process holds the endpoint now
    call_command("stripe_setup", "--secret", ROTATED, stdout=StringIO())

    signed_with_the_old_secret = an_invoice_event()
    assert post(client, webhook_path, signed_with_the_old_secret).status_code == 400
    signed_with_the_new_one = an_invoice_event()
    assert post(client, webhook_path, signed_with_the_new_one, secret=ROTATED).status_code == 200

    stored = set(StripeEvent.objects.values_list("stripe_id", flat=True))
    assert stored == {before["id"], signed_with_the_new_one["id"]}
    assert WebhookEventTrigger.objects.count() == 2


@pytest.mark.django_db
def test_a_removed_endpoint_answers_404_at_once(client, webhook_path, enqueued):
    assert post(client, webhook_path, an_invoice_event()).status_code == 200
    WebhookEndpoint.objects.all().delete()
    assert post(client, webhook_path, an_invoice_event()).status_code == 404
    assert StripeEvent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_deliveries_of_one_event_at_once_store_it_once(webhook_path, enqueued):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    payload = an_invoice_event()
    senders = 8
    start = threading.Barrier(senders)
    answers = []

    def send():
        try:
            client = Client()
            start.wait()
            response = post(client, webhook_path, payload)
            answers.append((response.status_code, response.json()["duplicate"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [(200, False)] + [(200, True)] * (senders - 1)
    stored = StripeEvent.objects.get()  # committed: read here, on another connection
    assert stored.deliveries == senders
    assert WebhookEventTrigger.objects.count() == senders
    assert enqueued == [stored.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_a_dead_kept_connection_is_refused_and_its_retry_stored(webhook_path, enqueued, monkeypatch):
    """The acknowledgement sends no health check first: a connection that
    died since the last request fails that one delivery (5xx, so Stripe
    sends it again) and the next request works on a fresh connection."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: its server ends the connection")
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)  # kept between requests, as in production
    connection.close()  # the next connection is opened with that age
    client = Client(raise_request_exception=False)

    def request(payload):
        close_old_connections()  # what the WSGI handler does as each request starts (the test client does not)
        return post(client, webhook_path, payload)

    assert request(an_invoice_event()).status_code == 200
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or None
    ) as other:  # the server ends the kept connection, as a restart or a proxy's timeout would
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    payload = an_invoice_event()
    refused = request(payload)
    retried = request(payload)  # Stripe's next attempt

    assert refused.status_code == 500
    assert retried.status_code == 200 and retried.json()["duplicate"] is False
    assert StripeEvent.objects.filter(stripe_id=payload["id"]).count() == 1
    assert len(enqueued) == 2


# --- Outside a transaction, as in production: the libpq path ---------------------------------


def direct_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [intake._DIRECT_NAME.decode()])
        return cursor.fetchone()[0]


def stored_as(stripe_id: str) -> tuple[dict, dict]:
    event_row = StripeEvent.objects.filter(stripe_id=stripe_id).values().get()
    trigger_row = WebhookEventTrigger.objects.filter(pk=event_row["trigger_id"]).values().get()
    return event_row, trigger_row


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_in_autocommit_the_acknowledgement_runs_through_libpq_and_stores_what_the_cursor_would(
    webhook_path, enqueued, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the libpq path is PostgreSQL's")
    client = Client()
    first = an_invoice_event()
    first["data"]["object"]["description"] = 'Zürich — 10 % off, "quoted", back\\slash'
    direct = post(client, webhook_path, first)
    assert direct.status_code == 200 and direct.json() == {
        "received": first["id"],
        "duplicate": False,
        "status": "received",
    }
    assert direct_statements() == 1  # prepared on this connection, by name: the libpq path ran

    monkeypatch.setattr(intake, "_store_direct", lambda params: intake._NOT_DIRECT)
    second = {**an_invoice_event(), "created": first["created"], "data": first["data"]}
    assert post(client, webhook_path, second).status_code == 200

    (event_a, trigger_a), (event_b, trigger_b) = stored_as(first["id"]), stored_as(second["id"])
    assert event_a["payload"] == first and trigger_a["body"] == json.dumps(first)
    differ = {"id", "stripe_id", "trigger_id", "received_at", "payload"}
    assert {k: v for k, v in event_a.items() if k not in differ} == {
        k: v for k, v in event_b.items() if k not in differ
    }
    differ = {"id", "body", "headers", "created", "updated"}
    assert {k: v for k, v in trigger_a.items() if k not in differ} == {
        k: v for k, v in trigger_b.items() if k not in differ
    }
    assert trigger_a["headers"].keys() == trigger_b["headers"].keys()
    assert trigger_a["headers"]["Content-Type"] == "application/json"
    assert abs(event_a["received_at"] - trigger_a["created"]).total_seconds() < 1
    assert enqueued == [event_a["id"], event_b["id"]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_in_autocommit_a_redelivery_counts_and_a_lost_statement_is_prepared_again(webhook_path, enqueued):
    if connection.vendor != "postgresql":
        pytest.skip("the libpq path is PostgreSQL's")
    client = Client()
    payload = an_invoice_event()
    assert post(client, webhook_path, payload).json()["duplicate"] is False
    with connection.cursor() as cursor:  # the session forgets it, as DISCARD ALL from a pooler would make it
        cursor.execute(f"DEALLOCATE {intake._DIRECT_NAME.decode()}")
    again = post(client, webhook_path, payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert direct_statements() == 1
    stored = StripeEvent.objects.get()
    assert stored.deliveries == 2 and WebhookEventTrigger.objects.count() == 2
    assert enqueued == [stored.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_in_autocommit_a_rotated_secret_is_honoured_and_a_nul_is_refused(webhook_path, enqueued):
    if connection.vendor != "postgresql":
        pytest.skip("the libpq path is PostgreSQL's")
    client = Client()
    assert post(client, webhook_path, an_invoice_event()).status_code == 200  # this process now holds the old secret
    WebhookEndpoint.objects.update(secret=ROTATED)
    rotated = an_invoice_event()
    assert post(client, webhook_path, rotated, secret=ROTATED).status_code == 200
    assert post(client, webhook_path, an_invoice_event()).status_code == 400  # the old secret no longer signs
    assert StripeEvent.objects.filter(stripe_id=rotated["id"]).exists()

    # PostgreSQL's text holds no NUL (and libpq's text form would cut the
    # value short there): such a header is refused, nothing stored.
    body = json.dumps(an_invoice_event()).encode()
    refused = Client(raise_request_exception=False).post(
        webhook_path,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, secret=ROTATED),
        HTTP_X_NOTE="a\x00b",
    )
    assert refused.status_code == 400 and "NUL" in refused.json()["error"]
    assert StripeEvent.objects.count() == 2 and WebhookEventTrigger.objects.count() == 2
