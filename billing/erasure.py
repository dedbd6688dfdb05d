"""Erasure at the payment processor: when an approved erasure closes an
account (its only person asked), billing cancels the Stripe subscriptions at
once, deletes the Stripe customer, closes the open dunning cases and
forgets the customer id. Called by billing's privacy provider inside the
erasure's transaction; compliance stores the steps returned here on the
erasure request.

What Stripe keeps: deleting a customer deletes its email, name, address,
phone and saved payment methods; Stripe keeps the invoices, charges and
refunds of that customer (with the billing details printed on them) for its
own legal obligations (https://docs.stripe.com/api/customers/delete,
https://stripe.com/legal/privacy-center). Our mirror of those invoices keeps
amounts and dates for our accounting and loses the person's details.

Every Stripe call is safe to repeat: a subscription already canceled is no
longer listed and a customer already deleted answers `resource_missing`,
which counts as done. So when a call fails, the erasure rolls back, is
marked failed with the steps so far (needs attention) and a retry starts
again from the top without doing anything twice.
"""

import hashlib
import logging
import time

import stripe
from django.conf import settings
from django.utils import timezone
from djstripe.models import Charge, Customer, Invoice, PaymentMethod
from djstripe.settings import djstripe_settings

from compliance import audit
from compliance.dsar.providers import ProcessorStepFailed
from levqor.accounts.models import Account
from levqor.lib.signals import external_contact_report

from .models import DunningCase, ErasedCustomer, StripeEvent

logger = logging.getLogger(__name__)

# Keys of our dj-stripe mirror's stored objects that name or locate the person.
PERSONAL_KEYS = (
    "email",
    "name",
    "phone",
    "address",
    "shipping",
    "description",
    "billing_details",
    "customer_email",
    "customer_name",
    "customer_phone",
    "customer_address",
    "customer_shipping",
    "receipt_email",
    "metadata",
)


def _step(step: str, status: str, detail: str) -> dict:
    return {"processor": "Stripe", "step": step, "status": status, "detail": detail}


def _missing(exc: stripe.StripeError) -> bool:
    return getattr(exc, "code", None) == "resource_missing" or getattr(exc, "http_status", None) == 404


def _call(steps: list[dict], step: str, call):
    """Run one Stripe call, report the contact, and turn a refusal into the
    erasure's failure (with the steps so far). Returns None when Stripe no
    longer has the object."""
    started = time.monotonic()
    try:
        result = call()
    except stripe.StripeError as exc:
        if _missing(exc):
            external_contact_report(sender=__name__, name="stripe", ok=True, latency_ms=_ms(started))
            return None
        code = getattr(exc, "code", None) or type(exc).__name__
        external_contact_report(sender=__name__, name="stripe", ok=False, latency_ms=_ms(started), error=str(code))
        steps.append(_step(step, "failed", f"Stripe refused or could not be reached ({code}); retried on retry"))
        raise ProcessorStepFailed(f"Stripe: {step} failed ({code})", steps=steps) from exc
    external_contact_report(sender=__name__, name="stripe", ok=True, latency_ms=_ms(started))
    return result


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def customer_hash(customer_id: str) -> str:
    """How an erased customer is remembered: not the id itself."""
    return hashlib.sha256(customer_id.encode()).hexdigest()


def customer_is_erased(customer_id: str) -> bool:
    return bool(customer_id) and ErasedCustomer.objects.filter(customer_hash=customer_hash(customer_id)).exists()


def _redact(data: dict | None) -> dict:
    return {key: value for key, value in (data or {}).items() if key not in PERSONAL_KEYS}


def _redact_mirror(customer_id: str) -> int:
    """Drop the person's details from dj-stripe's copies of the customer's
    objects; amounts, dates and ids stay for our accounting."""
    changed = 0
    for model in (Invoice, Charge, PaymentMethod):
        for row in model.objects.filter(customer_id=customer_id).only("pk", "stripe_data"):
            model.objects.filter(pk=row.pk).update(stripe_data=_redact(row.stripe_data), metadata={})
            changed += 1
    changed += Customer.objects.filter(id=customer_id).update(
        email="",
        metadata={},
        stripe_data={"id": customer_id, "object": "customer", "deleted": True},
        date_purged=timezone.now(),
    )
    return changed


def account_processor_erase(*, account: Account, actor) -> list[dict]:
    """Cancel the account's Stripe subscriptions (no further invoices),
    delete its Stripe customer, redact our mirror, close its open dunning
    cases and forget the customer id. Returns the steps; raises
    ProcessorStepFailed (after recording the failed step) when Stripe
    refuses. Safe to run twice."""
    steps: list[dict] = []
    customer_id = account.stripe_customer_id or ""
    if customer_id:
        api_key = djstripe_settings.get_default_api_key(settings.STRIPE_LIVE_MODE)
        listed = _call(
            steps,
            "cancel subscriptions",
            lambda: stripe.Subscription.list(customer=customer_id, limit=100, api_key=api_key),
        )
        canceled = []
        for subscription in listed["data"] if listed is not None else []:
            if subscription.get("status") in ("canceled", "incomplete_expired"):
                continue
            # Cancel now, not at the period's end: no further invoice, no proration credit.
            _call(
                steps,
                "cancel subscriptions",
                lambda sid=subscription["id"]: stripe.Subscription.cancel(sid, api_key=api_key),
            )
            canceled.append(subscription["id"])
        steps.append(_step("cancel subscriptions", "done", f"{len(canceled)} subscription(s) canceled at once"))
        deleted = _call(steps, "delete customer", lambda: stripe.Customer.delete(customer_id, api_key=api_key))
        steps.append(
            _step(
                "delete customer",
                "done",
                ("customer deleted" if deleted is not None else "customer already deleted")
                + "; Stripe keeps its invoices and payments (legal obligation)",
            )
        )
        redacted = _redact_mirror(customer_id)
        steps.append(_step("redact local copy", "done", f"{redacted} mirrored Stripe object(s) redacted"))
        ErasedCustomer.objects.get_or_create(customer_hash=customer_hash(customer_id))
        StripeEvent.objects.filter(customer_id=customer_id, status=StripeEvent.Status.UNMATCHED).update(
            status=StripeEvent.Status.PROCESSED, note="ignored: Stripe customer erased"
        )
        # Stored events that may still be reprocessed keep their payload (the
        # erased-customer check ignores them); the rest lose it now.
        StripeEvent.objects.filter(customer_id=customer_id, status=StripeEvent.Status.PROCESSED).update(
            customer_id="", payload={}
        )
    closed = 0
    now = timezone.now()
    for case in DunningCase.objects.select_for_update().filter(account=account, status=DunningCase.Status.PENDING):
        case.status, case.closed_at, case.next_action_at = DunningCase.Status.CANCELED, now, None
        case.save(update_fields=["status", "closed_at", "next_action_at", "updated_at"])
        audit.record(actor=actor, action="dunning.case_canceled", target=case, details={"reason": "erasure"})
        closed += 1
    DunningCase.objects.filter(account=account).exclude(stripe_customer_id="").update(stripe_customer_id="")
    steps.append(_step("close dunning cases", "done", f"{closed} open case(s) closed"))
    if customer_id:
        Account.objects.filter(pk=account.pk).update(stripe_customer_id=None, updated_at=now)
        account.stripe_customer_id = None
        steps.append(_step("forget customer id", "done", "the account no longer names a Stripe customer"))
    audit.record(actor=actor, action="billing.processor_erased", target=account, details={"steps": steps})
    return steps
