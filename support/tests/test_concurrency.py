"""Workers racing on PostgreSQL: one Stripe credit, one chargeback row."""

import threading
import time
from datetime import date

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from compliance.outbox.selectors import emails_about
from support import rules, services
from support.models import DfyOrder, Dispute, SlaCreditRequest

from .conftest import dispute_object


def _race(fn, n: int = 4) -> list:
    results, barrier = [], threading.Barrier(n)

    def run():
        try:
            barrier.wait()
            results.append(fn())
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_credits_once_when_workers_race(customer, stripe_customer, fake_stripe):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    period = rules.day_period(rules.add_months(date.today().replace(day=1), -1))
    request = services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=period,
        impact="major",
        description="x",
        actor=customer,
    )
    # Approved without queueing the task (which would run inline here), so
    # the workers below are the first to try.
    SlaCreditRequest.objects.filter(pk=request.pk).update(
        status="approved", credit_amount_minor=100, credit_state="pending"
    )
    results = _race(lambda: services.sla_credit_apply(request_id=request.pk))
    request.refresh_from_db()
    assert len([r for r in results if r]) == 1, (results, request.credit_error)
    assert len(fake_stripe.credits_posted()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_credits_once_when_workers_run_the_retry_job_together(customer, stripe_customer, fake_stripe):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    period = rules.day_period(rules.add_months(date.today().replace(day=1), -1))
    request = services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=period,
        impact="major",
        description="x",
        actor=customer,
    )
    now = timezone.now()
    # A credit whose first attempt failed and whose retry is due.
    SlaCreditRequest.objects.filter(pk=request.pk).update(
        status="approved",
        credit_amount_minor=100,
        credit_state="retrying",
        credit_attempts=1,
        credit_next_attempt_at=now,
        credit_error="Could not reach Stripe",
    )
    results = _race(lambda: services.sla_credits_retry(now=now))
    request.refresh_from_db()
    assert sum(results) == 1 and len(results) == 4, (results, request.credit_error)
    assert request.credit_state == "applied" and len(fake_stripe.credits_posted()) == 1
    assert emails_about(request).filter(stage="credit-applied").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_creates_one_chargeback_when_deliveries_race(fake_stripe, stripe_customer):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    fake_stripe.add_charge("ch_race", stripe_customer)
    obj = dispute_object(
        dispute_id="dp_race", charge_id="ch_race", status="needs_response", due_by=int(time.time()) + 86400
    )
    counter = iter(range(100))

    def record():
        n = next(counter)
        return services.chargeback_record(
            dispute=obj,
            event_id=f"evt_race_{n}",
            event_type="charge.dispute.updated",
            event_at=timezone.now(),
            livemode=False,
        ).pk

    results = _race(record)
    assert len(set(results)) == 1 and len(results) == 4
    assert Dispute.objects.get().stripe_events and len(Dispute.objects.get().stripe_events) == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_dfy_order_per_checkout_when_workers_race(customer):
    """Stripe's checkout.session.completed and async_payment_succeeded for one
    session, or one event redelivered, processed by several workers at once:
    one order, paid once, one "received" email."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    from billing.purchases import Purchase

    purchase = Purchase(
        session_id="cs_test_race_0001",
        product="dfy",
        metadata={"levqor_purchase": "dfy", "dfy_tier": "enterprise", "account": str(customer.account_id)},
        customer_id="cus_race",
        payment_intent_id="pi_race",
        amount_minor=49900,
        currency="GBP",
        paid=True,
        email=customer.email,
        event_id="evt_race",
        at=timezone.now(),
    )
    results = _race(lambda: services.dfy_order_purchased(purchase))
    assert len(results) == 4 and len([r for r in results if r.endswith("created, paid")]) == 1, results
    order = DfyOrder.objects.get()
    assert (order.tier, order.status, order.stripe_checkout_session_id) == (
        "enterprise",
        "awaiting-brief",
        "cs_test_race_0001",
    )
    assert [e.kind for e in emails_about(order)] == ["support.dfy-received"]
