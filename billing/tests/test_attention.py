"""Needs attention on the admin index: each billing failure really happens,
then staff find its label and count on /admin/ and follow the link to a
filtered list that shows the row."""

import json
import re
from datetime import timedelta

import pytest
import stripe
from django.core import mail
from django.db import transaction
from django.utils import timezone

from billing import cases
from billing.models import StripeEvent

from .conftest import current_invoice, dunning_emails, event, sign

pytestmark = pytest.mark.django_db

FAILED = "Stripe events failed"
STUCK = "Stripe events not processed within 15 minutes"
UNMATCHED = "Stripe events unmatched (customer not linked or case not open)"
EMAILS = "Emails failing, being retried"  # the outbox's, for every app's emails


def attention(staff_client, label) -> tuple[int, str]:
    """(count, link) of one needs-attention row on the admin index."""
    body = staff_client.get("/admin/").content.decode()
    row = re.search(rf'<a href="([^"]*)">{re.escape(label)}</a>.*?<strong>(\d+)</strong>', body, re.S)
    assert row is not None, f"{label!r} is not on the admin index"
    return int(row.group(2)), row.group(1).replace("&amp;", "&")


@pytest.fixture
def down_stripe(monkeypatch):
    monkeypatch.setattr(stripe, "max_network_retries", 0)  # SDK retries would wait 1.5 s to fail alike
    previous = stripe.api_base
    stripe.api_base = "http://127.0.0.1:9"  # nothing listens: the Stripe API is unreachable
    yield
    stripe.api_base = previous


def invoice_failed(customer="cus_attention", subscription="sub_attention"):
    return event(
        "invoice.payment_failed",
        current_invoice(invoice_id=f"in_{subscription}", customer=customer, subscription=subscription),
    )


def test_it_counts_failed_stripe_events_and_links_to_them(deliver, staff_client, down_stripe):
    payload = invoice_failed()
    assert deliver(payload).status_code == 200
    assert StripeEvent.objects.get().status == "failed"
    count, link = attention(staff_client, FAILED)
    assert count == 1
    page = staff_client.get(link).content.decode()
    assert payload["id"] in page and "APIConnectionError" in page


def test_the_demo_failed_event_is_counted(staff, staff_client, django_capture_on_commit_callbacks):
    from io import StringIO

    from billing import demo

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        demo.seed(admin=staff, stdout=StringIO())
    count, link = attention(staff_client, FAILED)
    assert count == StripeEvent.objects.filter(status="failed").count() >= 1
    assert "evt_demo_failed_processing" in staff_client.get(link).content.decode()


def test_it_counts_events_not_processed_15_minutes_after_arrival(client, webhook_path, staff_client):
    payload = invoice_failed()
    body = json.dumps(payload).encode()
    # No on_commit run: the queue lost it.
    response = client.post(webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 200
    assert attention(staff_client, STUCK)[0] == 0  # just arrived: not stuck yet
    StripeEvent.objects.update(received_at=timezone.now() - timedelta(minutes=16))
    fresh = invoice_failed(subscription="sub_fresh")  # arrived just now: not stuck
    body = json.dumps(fresh).encode()
    client.post(webhook_path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    count, link = attention(staff_client, STUCK)
    assert count == 1
    page = staff_client.get(link).content.decode()
    assert payload["id"] in page and fresh["id"] not in page


def test_it_counts_unmatched_events_and_links_to_them(deliver, ls, staff_client):
    stranger = ls.customer(email="stranger@example.test")
    payload = invoice_failed(customer=stranger.id)
    stripe.api_key = ls.key
    try:
        assert deliver(payload).status_code == 200
    finally:
        stripe.api_key = None
    count, link = attention(staff_client, UNMATCHED)
    assert count == 1
    page = staff_client.get(link).content.decode()
    assert payload["id"] in page and "is not linked to an account" in page


@pytest.fixture
def smtp_down(settings):
    """A real send failure: SMTP to a port nothing listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    return settings


def test_it_counts_billing_emails_that_failed_and_links_to_them(
    customer_account, staff_client, smtp_down, django_capture_on_commit_callbacks
):
    customer_account.stripe_customer_id = "cus_attention"
    customer_account.save(update_fields=["stripe_customer_id"])
    invoice = current_invoice(invoice_id="in_attention", customer="cus_attention", subscription="sub_attention")
    with django_capture_on_commit_callbacks(execute=True):
        case = cases.case_record_failure(invoice=invoice, event_id="evt_attention", event_at=timezone.now())
    email = dunning_emails(case).get()
    assert email.status == "queued" and "Connection" in email.last_error
    count, link = attention(staff_client, EMAILS)
    assert count == 1
    page = staff_client.get(link).content.decode()
    assert f"billing.dunningcase:{case.pk}" in page and "Connection" in page
    assert mail.outbox == []
