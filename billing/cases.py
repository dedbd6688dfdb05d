"""Dunning cases as Stripe's events open, update, recover and close them:
each `*_apply` service handles one event type (see `webhooks`), is atomic,
audits in its own transaction and queues email only after commit. It
returns an `Outcome` that the intake records on the Stripe event: applied,
ignored and why, or unmatched (kept to be applied when the customer is
linked or the case opens). Late or reordered deliveries are recognised by
the subscription's standing (`standing`)."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from djstripe.models import Subscription

from compliance import audit
from levqor.accounts.models import Account, User
from levqor.accounts.selectors import account_for_stripe_customer
from levqor.accounts.services import account_set_billing_state

from . import dunning
from .erasure import customer_is_erased
from .models import DunningCase, StripeEvent, SubscriptionStanding
from .payloads import HARD_DECLINE_CODES, id_of, intent_error, invoice_facts
from .services import case_recover
from .standing import (
    SAME_ATTEMPT,
    Outcome,
    case_latest,
    failure_is_stale,
    payment_is_stale,
    standing_locked,
    standing_set,
)

logger = logging.getLogger(__name__)


@transaction.atomic
def failure_apply(*, invoice: dict, event_id: str, event_at: datetime, actor: User | None = None) -> Outcome:
    """`invoice.payment_failed`: open a case for the subscription, or update the
    open one with Stripe's latest attempt. Ignores events older than the last
    payment or cancellation applied; a customer linked to no account leaves
    the event unmatched. A new case's day-0 email is queued on commit. Safe to
    run twice."""
    facts = invoice_facts(invoice)
    if customer_is_erased(facts.customer_id):
        return Outcome(note="ignored: the Stripe customer was erased")
    key = facts.subscription_id or f"invoice:{facts.invoice_id}"
    if failure_is_stale(key, event_at):
        logger.info("ignoring stale payment failure %s for %s", event_id, key)
        standing = standing_locked(key)
        late = "recovery" if standing.standing == SubscriptionStanding.Standing.OK else "cancellation"
        return Outcome(note=f"ignored: late failure after {late}", case=case_latest(key))
    standing_set(key, SubscriptionStanding.Standing.FAILING, event_at, event_id)
    account = account_for_stripe_customer(facts.customer_id)
    if account is None:
        logger.warning(
            "payment failure %s for unlinked Stripe customer %s: kept unmatched", event_id, facts.customer_id
        )
        return Outcome(
            note=f"unmatched: Stripe customer {facts.customer_id or '(none)'} is not linked to an account"[:255],
            unmatched=True,
        )
    values = {
        "stripe_invoice_id": facts.invoice_id,
        "amount_due": facts.amount_due,
        "currency": facts.currency,
        "attempt_count": facts.attempt_count,
        "next_payment_attempt": facts.next_payment_attempt,
        "hosted_invoice_url": facts.hosted_invoice_url,
    }
    if facts.failure_code or facts.decline_code or facts.failure_reason:
        # The current API's invoice carries no decline: then keep what the
        # PaymentIntent event of this attempt (which may come first) set.
        values.update(
            failure_code=facts.failure_code[:100],
            decline_code=facts.decline_code[:100],
            failure_reason=facts.failure_reason[:500],
        )
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=key, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is not None:
        if event_at < case.last_event_at:
            return Outcome(note="ignored: an older attempt than the one on the case", case=case)
        for name, value in values.items():
            setattr(case, name, value)
        case.hard_decline = case.next_payment_attempt is None and case.decline_code in HARD_DECLINE_CODES
        case.last_event_at = event_at
        case.save()
        audit.record(
            actor=actor,
            action="dunning.case_updated",
            target=case,
            details={"event": event_id, "attempt_count": facts.attempt_count, "hard_decline": case.hard_decline},
        )
        _apply_waiting_payment_errors(case=case, around=event_at, actor=actor)
        return Outcome(note=f"updated case #{case.pk}: attempt {facts.attempt_count}", case=case)
    opened_at = min(event_at, timezone.now())
    case = DunningCase(
        account=account,
        stripe_customer_id=facts.customer_id,
        stripe_subscription_id=key,
        opened_at=opened_at,
        last_event_at=event_at,
        next_action_at=opened_at,
        **values,
    )
    case.hard_decline = case.next_payment_attempt is None and case.decline_code in HARD_DECLINE_CODES
    case.save()
    audit.record(
        actor=actor,
        action="dunning.case_opened",
        target=case,
        details={
            "event": event_id,
            "account": account.pk,
            "invoice": facts.invoice_id,
            "amount_due": facts.amount_due,
            "currency": facts.currency,
            "hard_decline": case.hard_decline,
        },
    )
    _apply_waiting_payment_errors(case=case, around=event_at, actor=actor)
    # The day-0 email leaves now, not at the next hourly sweep: the same
    # claim as the sweep's, so whichever runs first sends it, once.
    case_id = case.pk
    transaction.on_commit(lambda: dunning.cases_enqueue_advance([case_id]))
    return Outcome(note=f"opened case #{case.pk}", case=case)


def case_record_failure(*, invoice: dict, event_id: str, event_at: datetime, actor: User | None = None):
    """`failure_apply`, returning the case (None when nothing was opened or updated)."""
    outcome = failure_apply(invoice=invoice, event_id=event_id, event_at=event_at, actor=actor)
    return None if outcome.unmatched or outcome.note.startswith("ignored: late") else outcome.case


def _set_payment_error(*, case: DunningCase, error: tuple[str, str, str], event_id: str, actor) -> bool:
    code, decline, reason = error
    hard = case.next_payment_attempt is None and decline in HARD_DECLINE_CODES
    if (case.failure_code, case.decline_code, case.failure_reason, case.hard_decline) == (code, decline, reason, hard):
        return False
    case.failure_code, case.decline_code, case.failure_reason, case.hard_decline = code, decline, reason, hard
    case.save(update_fields=["failure_code", "decline_code", "failure_reason", "hard_decline", "updated_at"])
    audit.record(
        actor=actor,
        action="dunning.case_updated",
        target=case,
        details={"event": event_id, "decline_code": decline, "hard_decline": hard},
    )
    return True


def _apply_waiting_payment_errors(*, case: DunningCase, around: datetime, actor) -> None:
    """`payment_intent.payment_failed` events of this attempt that arrived
    before its invoice failure (kept unmatched, or given up on): apply them
    to the case now, in Stripe order."""
    waiting = StripeEvent.objects.filter(
        type="payment_intent.payment_failed",
        customer_id=case.stripe_customer_id,
        case__isnull=True,
        stripe_created__gte=around - SAME_ATTEMPT,
        stripe_created__lte=around + SAME_ATTEMPT,
    ).exclude(status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.PROCESSING, StripeEvent.Status.FAILED])
    for event in waiting.order_by("stripe_created", "pk"):
        intent = ((event.payload or {}).get("data") or {}).get("object") or {}
        error = intent_error(intent)
        if error is None:
            continue
        changed = _set_payment_error(case=case, error=error, event_id=event.stripe_id, actor=actor)
        note = f"applied to case #{case.pk}: decline {error[1] or error[0] or 'unknown'}"
        StripeEvent.objects.filter(pk=event.pk).update(
            status=StripeEvent.Status.PROCESSED,
            processed_at=timezone.now(),
            note=note if changed else f"case #{case.pk} already had this decline",
            case=case,
        )


@transaction.atomic
def payment_error_apply(
    *, intent: dict, event_id: str, event_at: datetime, actor: User | None = None, now: datetime | None = None
) -> Outcome:
    """`payment_intent.payment_failed`: in the current API the decline code
    lives on the PaymentIntent, not the invoice. Add it to the customer's
    open case (hard decline if Stripe also stopped retrying). With no open
    case yet (it may come before its invoice failure) the event stays
    unmatched and is applied when the case opens. Safe to run twice."""
    error = intent_error(intent)
    customer_id = id_of(intent.get("customer"))
    if error is None:
        return Outcome(note="ignored: no payment error on the PaymentIntent")
    if not customer_id:
        return Outcome(note="ignored: no Stripe customer on the PaymentIntent")
    if customer_is_erased(customer_id):
        return Outcome(note="ignored: the Stripe customer was erased")
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_customer_id=customer_id, status=DunningCase.Status.PENDING)
        .order_by("-opened_at")
        .first()
    )
    if case is None:
        now = now or timezone.now()
        if account_for_stripe_customer(customer_id) is not None and event_at < now - SAME_ATTEMPT:
            # Its invoice failure would have come by now: not a subscription
            # payment. Should one still open a case, it picks this up.
            return Outcome(note="ignored: no invoice failure followed (not a subscription payment)")
        return Outcome(note=f"unmatched: no open dunning case for {customer_id} yet", unmatched=True)
    # Only the attempt that opened or last updated the case, not an old one.
    if event_at < case.opened_at - SAME_ATTEMPT:
        return Outcome(note=f"ignored: older than case #{case.pk}")
    if not _set_payment_error(case=case, error=error, event_id=event_id, actor=actor):
        return Outcome(note=f"case #{case.pk} already had this decline", case=case)
    return Outcome(note=f"applied to case #{case.pk}: decline {error[1] or error[0] or 'unknown'}", case=case)


def case_record_payment_error(
    *, intent: dict, event_id: str, event_at: datetime, actor: User | None = None
) -> DunningCase | None:
    """`payment_error_apply`, returning the case it applied to, if any."""
    return payment_error_apply(intent=intent, event_id=event_id, event_at=event_at, actor=actor).case


@transaction.atomic
def payment_apply(
    *, subscription_id: str, event_id: str, event_at: datetime, reason: str, actor: User | None = None
) -> Outcome:
    """`invoice.paid` / `invoice.payment_succeeded` / subscription back to
    `active`: recover the open case. Ignores a payment older than a failure
    already applied. Safe to run twice."""
    if not subscription_id:
        return Outcome(note="ignored: no subscription")
    if payment_is_stale(subscription_id, event_at):
        return Outcome(
            note="ignored: payment older than the failure or cancellation on record",
            case=case_latest(subscription_id),
        )
    standing_set(subscription_id, SubscriptionStanding.Standing.OK, event_at, event_id)
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is None:
        return Outcome(note="no open dunning case")
    case.last_event_at = max(case.last_event_at, event_at)
    case_recover(case=case, reason=reason, details={"event": event_id}, actor=actor)
    return Outcome(note=f"recovered case #{case.pk}", case=case)


def case_record_payment(
    *, subscription_id: str, event_id: str, event_at: datetime, reason: str, actor: User | None = None
) -> DunningCase | None:
    """`payment_apply`, returning the case it recovered, if any."""
    outcome = payment_apply(
        subscription_id=subscription_id, event_id=event_id, event_at=event_at, reason=reason, actor=actor
    )
    return outcome.case if outcome.note.startswith("recovered") else None


LIVE_STATUSES = ("active", "trialing", "past_due", "unpaid", "incomplete")


def _other_live_subscription(customer_id: str, subscription_id: str) -> bool:
    """Whether the mirror holds another live subscription of this customer."""
    return (
        Subscription.objects.filter(customer_id=customer_id, stripe_data__status__in=LIVE_STATUSES)
        .exclude(id=subscription_id)
        .exists()
    )


@transaction.atomic
def cancellation_apply(
    *, subscription_id: str, event_id: str, event_at: datetime, customer_id: str = "", actor: User | None = None
) -> Outcome:
    """`customer.subscription.deleted`: close the open case as canceled and
    mark the customer's account canceled, unless the customer has another
    live subscription in the mirror (they resubscribed before the old one's
    deletion arrived). Safe to run twice."""
    if not subscription_id:
        return Outcome(note="ignored: no subscription")
    standing_set(subscription_id, SubscriptionStanding.Standing.CANCELED, event_at, event_id)
    account = account_for_stripe_customer(customer_id) if customer_id else None
    if account is not None and _other_live_subscription(customer_id, subscription_id):
        # An old subscription ended after the customer resubscribed: the
        # account pays through the new one and stays as it is.
        account = None
    if account is not None:
        account_set_billing_state(
            account=account,
            state=Account.BillingState.CANCELED,
            reason=f"Stripe subscription {subscription_id} deleted ({event_id})",
            actor=actor,
        )
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is None:
        return Outcome(note="account canceled; no open dunning case" if account else "no open dunning case")
    now = timezone.now()
    case.status = DunningCase.Status.CANCELED
    case.closed_at = now
    case.next_action_at = None
    case.last_event_at = max(case.last_event_at, event_at)
    case.save()
    audit.record(actor=actor, action="dunning.case_canceled", target=case, details={"event": event_id})
    return Outcome(note=f"canceled case #{case.pk}", case=case)


def case_record_cancellation(
    *, subscription_id: str, event_id: str, event_at: datetime, customer_id: str = "", actor: User | None = None
) -> DunningCase | None:
    """`cancellation_apply`, returning the case it closed, if any."""
    outcome = cancellation_apply(
        subscription_id=subscription_id, event_id=event_id, event_at=event_at, customer_id=customer_id, actor=actor
    )
    return outcome.case if outcome.note.startswith("canceled") else None
