"""Pre-dunning: the card Stripe will charge (localstripe, mirrored by
dj-stripe) expires at the end of 12/2034; the daily sweep, with the clock
injected, emails the owner 30 and 7 days before, once each, with the
Billing Portal link; a replaced card stops it."""

import threading
from datetime import UTC, datetime

import pytest
import stripe
from django.core import mail
from django.db import connection
from djstripe.models import Customer, PaymentMethod

from billing.expiry import KIND, cards_expiring_notify
from compliance.models import OutboundEmail
from compliance.outbox.services import email_deliver

from .conftest import SECRET_KEY

DAY_30 = datetime(2034, 12, 1, 9, 20, tzinfo=UTC)  # 30 days before 31 December 2034
DAY_7 = datetime(2034, 12, 24, 9, 20, tzinfo=UTC)


def sweep(at, capture) -> int:
    with capture(execute=True):
        return cards_expiring_notify(now=at)


def reminders(**filters):
    return OutboundEmail.objects.filter(kind=KIND, **filters).order_by("pk")


def test_it_emails_30_and_7_days_before_once_each(paying, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    assert sweep(datetime(2034, 11, 30, tzinfo=UTC), capture) == 0  # 31 days: nothing yet
    assert sweep(DAY_30, capture) == 1
    assert sweep(DAY_30, capture) == 0
    assert sweep(datetime(2034, 12, 10, tzinfo=UTC), capture) == 0  # still the 30-day stage
    assert sweep(DAY_7, capture) == 1
    assert sweep(datetime(2034, 12, 30, tzinfo=UTC), capture) == 0
    assert sweep(datetime(2035, 1, 2, tzinfo=UTC), capture) == 0  # expired: dunning's business now
    assert [email.status for email in reminders()] == ["sent", "sent"]
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert message.to == [paying.email]
        assert "Visa ending in 4242" in message.subject
        assert "12/2034" in message.body and "/billing/portal" in message.body
        assert "/billing/portal" in message.alternatives[0][0]


def test_a_card_first_seen_close_to_expiry_gets_only_the_7_day_email(paying, django_capture_on_commit_callbacks):
    assert sweep(datetime(2034, 12, 27, tzinfo=UTC), django_capture_on_commit_callbacks) == 1
    assert reminders().get().stage.endswith(":7d")


def test_an_updated_card_stops_the_reminders(paying, ls, django_capture_on_commit_callbacks):
    customer_id = paying.account.stripe_customer_id
    # The 30-day email is queued, but the customer replaces the card before it leaves.
    assert cards_expiring_notify(now=DAY_30) == 1
    method = stripe.PaymentMethod.create(
        type="card",
        card={"number": "5555555555554444", "exp_month": 6, "exp_year": 2040, "cvc": "123"},
        api_key=SECRET_KEY,
    )
    stripe.PaymentMethod.attach(method.id, customer=customer_id, api_key=SECRET_KEY)
    stripe.Customer.modify(customer_id, invoice_settings={"default_payment_method": method.id}, api_key=SECRET_KEY)
    PaymentMethod.sync_from_stripe_data(
        stripe.PaymentMethod.retrieve(method.id, api_key=SECRET_KEY), api_key=SECRET_KEY
    )
    Customer.sync_from_stripe_data(stripe.Customer.retrieve(customer_id, api_key=SECRET_KEY), api_key=SECRET_KEY)
    email_deliver(email_id=reminders().get().pk)
    assert reminders().get().status == "dropped"
    assert sweep(DAY_7, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_queue_each_reminder_once(paying):
    barrier = threading.Barrier(2)
    results = []

    def worker():
        barrier.wait()
        try:
            results.append(cards_expiring_notify(now=DAY_30))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1]
    assert reminders().count() == 1
