"""Abuse signals from Stripe events: logged and counted, never blocking,
each event counted once however often it is delivered."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from billing import abuse
from billing.models import DunningCase
from compliance.models import AbuseSignal
from levqor.lib.security import pii_hash

from .conftest import current_invoice, event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def small_charge(n: int, customer="cus_tester", amount=100) -> dict:
    return {
        "id": f"ch_{n}",
        "object": "charge",
        "amount": amount,
        "currency": "gbp",
        "customer": customer,
        "status": "failed",
    }


def test_it_signals_card_testing_at_five_small_charges_and_again_when_it_doubles():
    signalled = [abuse.charge_observed(charge=small_charge(n), event_id=f"evt_{n}", at=NOW) for n in range(1, 11)]

    assert [i + 1 for i, s in enumerate(signalled) if s] == [5, 8]
    signals = AbuseSignal.objects.filter(kind="card_testing").order_by("count")
    assert [s.count for s in signals] == [5, 8]
    assert {s.identifier_hash for s in signals} == {pii_hash("cus_tester")}
    assert "cus_tester" not in str(list(signals.values()))


def test_it_ignores_ordinary_charges_and_counts_each_event_once():
    for n in range(10):
        assert not abuse.charge_observed(charge=small_charge(n, amount=2900), event_id=f"evt_big_{n}", at=NOW)
    for _ in range(10):  # one event redelivered ten times
        abuse.charge_observed(charge=small_charge(1), event_id="evt_same", at=NOW)
    assert not AbuseSignal.objects.exists()


def test_it_keeps_customers_and_windows_apart():
    for n in range(4):
        abuse.charge_observed(charge=small_charge(n, customer="cus_a"), event_id=f"a{n}", at=NOW)
        abuse.charge_observed(charge=small_charge(n, customer="cus_b"), event_id=f"b{n}", at=NOW)
    abuse.charge_observed(charge=small_charge(9, customer="cus_a"), event_id="a9", at=NOW + timedelta(hours=2))
    assert not AbuseSignal.objects.exists()


def test_it_signals_repeated_failed_checkouts():
    for n in range(3):
        abuse.checkout_failure_observed(customer_id="cus_shopper", event_id=f"cs_{n}", at=NOW)
    assert AbuseSignal.objects.get().kind == "failed_checkout"


def test_it_signals_cards_refused_again_and_again_in_trial_checkouts():
    refused = {"customer": None, "last_setup_error": {"code": "card_declined", "decline_code": "generic_decline"}}
    refused["last_setup_error"]["payment_method"] = {"card": {"fingerprint": "fpTESTER"}}
    assert not abuse.setup_failure_observed(intent=refused, event_id="seti_0", at=NOW)
    abuse.setup_failure_observed(intent=refused, event_id="seti_0", at=NOW)  # a redelivery counts once
    assert not abuse.setup_failure_observed(intent=refused, event_id="seti_1", at=NOW)
    assert abuse.setup_failure_observed(intent=refused, event_id="seti_2", at=NOW)
    signal = AbuseSignal.objects.get()
    assert signal.kind == "failed_checkout" and signal.count == 3


@pytest.fixture
def _stripe_key(stripe_settings):
    stripe.api_key = stripe_settings.STRIPE_TEST_SECRET_KEY
    yield
    stripe.api_key = None


def test_repeated_declines_arriving_as_webhooks_raise_one_signal(deliver, ls, account_with_customer, _stripe_key):
    _, plan = ls.product_and_plan(amount=2900)
    ls.card(account_with_customer.stripe_customer_id, "4242424242424242")
    sub = ls.subscription(account_with_customer.stripe_customer_id, plan.id)
    now = int(time.time())
    for attempt in range(1, 4):
        payload = event(
            "invoice.payment_failed",
            current_invoice(
                invoice_id=sub.latest_invoice.id,
                customer=account_with_customer.stripe_customer_id,
                subscription=sub.id,
                attempt_count=attempt,
            ),
            created=now - 100 + attempt,
        )
        assert deliver(payload).status_code == 200
        assert deliver(payload).status_code == 200  # a duplicate delivery counts once

    assert DunningCase.objects.get().attempt_count == 3
    signal = AbuseSignal.objects.get()
    assert (signal.kind, signal.count) == ("card_decline", 3)


def test_it_spots_card_testing_without_a_customer_by_card_fingerprint():
    def guest_charge(n, fingerprint):
        charge = small_charge(n, customer=None)
        charge["payment_method_details"] = {"type": "card", "card": {"fingerprint": fingerprint, "last4": "4242"}}
        return charge

    for n in range(4):
        abuse.charge_observed(charge=guest_charge(n, "fpA"), event_id=f"g{n}", at=NOW)
        abuse.charge_observed(charge=guest_charge(n + 10, "fpB"), event_id=f"h{n}", at=NOW)
    assert not AbuseSignal.objects.exists()

    assert abuse.charge_observed(charge=guest_charge(99, "fpA"), event_id="g99", at=NOW)
    assert AbuseSignal.objects.get().identifier_hash == pii_hash("card:fpA")
