"""Erasure reaches Stripe: an approved "delete my data" for an account's only
person cancels its subscriptions at once, deletes the Stripe customer,
closes dunning and forgets the customer id, against localstripe; a later
Stripe event for that customer opens nothing."""

from datetime import timedelta

import pytest
import stripe
from django.utils import timezone

from billing import cases
from billing.models import DunningCase, ErasedCustomer, StripeEvent
from compliance.dsar import erasure
from compliance.dsar.models import ErasureRequest
from compliance.dsar.providers import ProcessorStepFailed
from compliance.models import AuditEvent
from levqor.accounts.models import Account

from .conftest import current_invoice, event

pytestmark = pytest.mark.django_db

GOOD_CARD = "4242424242424242"


@pytest.fixture
def paying(ls, account_with_customer):
    """The customer persona paying in localstripe, with an open dunning case."""
    _, plan = ls.product_and_plan(amount=2900)
    ls.card(account_with_customer.stripe_customer_id, GOOD_CARD)
    subscription = ls.subscription(account_with_customer.stripe_customer_id, plan.id)
    now = timezone.now()
    case = DunningCase.objects.create(
        account=account_with_customer,
        stripe_customer_id=account_with_customer.stripe_customer_id,
        stripe_subscription_id=subscription.id,
        amount_due=2900,
        currency="gbp",
        hosted_invoice_url="https://invoice.stripe.com/i/x",
        opened_at=now - timedelta(days=2),
        last_event_at=now - timedelta(days=2),
        next_action_at=now + timedelta(days=5),
    )
    return {
        "account": account_with_customer,
        "customer": account_with_customer.stripe_customer_id,
        "subscription": subscription.id,
        "case": case,
    }


def erase(customer, staff, capture, *, raises=None) -> ErasureRequest:
    with capture(execute=True):
        request = erasure.erasure_request(user=customer, actor=customer)
    if raises:
        with pytest.raises(raises), capture(execute=True):
            erasure.erasure_approve(request=request, actor=staff)
    else:
        with capture(execute=True):
            assert erasure.erasure_approve(request=request, actor=staff)
    request.refresh_from_db()
    return request


def test_it_cancels_subscriptions_deletes_the_customer_and_closes_dunning(
    paying, ls, customer, staff, django_capture_on_commit_callbacks
):
    request = erase(customer, staff, django_capture_on_commit_callbacks)

    assert request.status == ErasureRequest.Status.COMPLETED
    subscription = ls.get(f"/v1/subscriptions/{paying['subscription']}")
    assert subscription["status"] == "canceled"  # at once: no further invoice
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Customer.retrieve(paying["customer"], api_key=ls.key)
    case = DunningCase.objects.get(pk=paying["case"].pk)
    assert case.status == DunningCase.Status.CANCELED and case.closed_at is not None
    assert case.stripe_customer_id == "" and case.hosted_invoice_url == ""
    account = Account.objects.get(pk=paying["account"].pk)
    assert account.stripe_customer_id is None
    assert account.billing_state == Account.BillingState.CANCELED

    steps = {step["step"]: step for step in request.summary["processor_steps"]}
    assert list(steps) == [
        "cancel subscriptions",
        "delete customer",
        "redact local copy",
        "close dunning cases",
        "forget customer id",
    ]
    assert all(step["status"] == "done" for step in steps.values())
    assert steps["cancel subscriptions"]["detail"].startswith("1 subscription(s) canceled")
    assert "Stripe keeps its invoices" in steps["delete customer"]["detail"]
    completed = AuditEvent.objects.get(action="erasure.completed", target_id=str(request.pk))
    assert completed.details["summary"]["processor_steps"] == request.summary["processor_steps"]
    assert AuditEvent.objects.filter(action="dunning.case_canceled", target_id=str(case.pk)).exists()


def test_it_ignores_a_later_payment_failure_for_the_erased_customer(
    paying, customer, staff, deliver, django_capture_on_commit_callbacks
):
    erase(customer, staff, django_capture_on_commit_callbacks)
    invoice = current_invoice(
        invoice_id="in_after_erasure", customer=paying["customer"], subscription=paying["subscription"]
    )
    payload = event("invoice.payment_failed", invoice)

    assert deliver(payload).status_code == 200

    stored = StripeEvent.objects.get(stripe_id=payload["id"])
    assert stored.status == StripeEvent.Status.PROCESSED  # not left "unmatched" for staff to link
    assert DunningCase.objects.filter(status=DunningCase.Status.PENDING).count() == 0
    # Applied directly too (a reprocess that gets past dj-stripe's sync): still nothing opens.
    outcome = cases.failure_apply(invoice=invoice, event_id="evt_late", event_at=timezone.now())
    assert outcome.note == "ignored: the Stripe customer was erased" and outcome.case is None
    assert DunningCase.objects.count() == 1
    assert ErasedCustomer.objects.count() == 1
    assert not ErasedCustomer.objects.filter(customer_hash__contains=paying["customer"]).exists()


def test_it_keeps_the_failed_step_and_finishes_on_retry(
    paying, ls, customer, staff, localstripe, monkeypatch, django_capture_on_commit_callbacks, staff_client
):
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")  # nothing listens: Stripe unreachable
    monkeypatch.setattr(stripe, "max_network_retries", 0, raising=False)
    request = erase(customer, staff, django_capture_on_commit_callbacks, raises=Exception)

    assert request.status == ErasureRequest.Status.FAILED
    assert request.summary["processor_steps"][-1]["status"] == "failed"
    assert "Stripe" in request.error
    customer.refresh_from_db()
    assert customer.email == "owner@acme.test"  # the erasure rolled back
    assert Account.objects.get(pk=paying["account"].pk).stripe_customer_id == paying["customer"]
    assert AuditEvent.objects.get(action="erasure.failed").details["processor_steps"]
    page = staff_client.get("/admin/").content.decode()
    assert "Erasure requests failed" in page

    monkeypatch.setattr(stripe, "api_base", localstripe)
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure.erasure_retry(request=request, actor=staff)
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.COMPLETED
    assert ls.get(f"/v1/subscriptions/{paying['subscription']}")["status"] == "canceled"


def test_it_retries_a_processor_failure_hourly_a_few_times(
    paying, ls, customer, staff, localstripe, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.LEVQOR_ERASURE_AUTO_RETRIES = 2
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")
    monkeypatch.setattr(stripe, "max_network_retries", 0, raising=False)
    request = erase(customer, staff, django_capture_on_commit_callbacks, raises=Exception)
    for _ in range(2):  # Stripe still unreachable: the retry runs (inline here) and fails again
        with pytest.raises(ProcessorStepFailed), django_capture_on_commit_callbacks(execute=True):
            assert erasure.erasures_retry_processor_failures() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure.erasures_retry_processor_failures() == 0  # retries used up: it waits for staff
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.FAILED and request.summary["auto_retries"] == 2
    assert AuditEvent.objects.filter(action="erasure.retried", target_id=str(request.pk)).count() == 2

    settings.LEVQOR_ERASURE_AUTO_RETRIES = 3
    monkeypatch.setattr(stripe, "api_base", localstripe)  # Stripe is back
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure.erasures_retry_processor_failures() == 1
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.COMPLETED
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure.erasures_retry_processor_failures() == 0  # nothing left to retry


def test_it_leaves_stripe_alone_while_others_still_use_the_account(
    paying, ls, customer, staff, django_capture_on_commit_callbacks
):
    from levqor.accounts.models import User

    User.objects.create_user(email="colleague@acme.test", name="Colleague", account=paying["account"])
    request = erase(customer, staff, django_capture_on_commit_callbacks)

    assert request.status == ErasureRequest.Status.COMPLETED
    assert request.summary["processor_steps"] == []
    assert ls.get(f"/v1/subscriptions/{paying['subscription']}")["status"] == "active"
    assert Account.objects.get(pk=paying["account"].pk).stripe_customer_id == paying["customer"]
