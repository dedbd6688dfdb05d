"""Stripe event type → dunning case service (`cases`). dj-stripe calls the receivers inside
`Event.process`, after it has synced the object from the Stripe API; they
read the event's own payload (either API shape) and call one service.

Each handler returns the service's `Outcome`; the receivers hand it to the
intake (through `collect()`), which records it on the stored event: the
note, the case it touched, and `unmatched` when it cannot be applied yet.
`apply()` runs the same handlers on a stored payload without dj-stripe, to
apply an unmatched event later (dj-stripe runs receivers only once per
event id).

https://docs.stripe.com/api/events/types
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from djstripe.event_handlers import djstripe_receiver

from . import abuse, cases, purchases, signup
from .payloads import event_object, event_time, id_of, invoice_subscription_id
from .standing import Outcome

_collected: ContextVar[dict | None] = ContextVar("billing_webhook_outcomes", default=None)


@contextmanager
def collect() -> Iterator[dict]:
    """Gather the outcomes of the handlers run inside, by event id."""
    token = _collected.set({})
    try:
        yield _collected.get()
    finally:
        _collected.reset(token)


# --- Handlers: (event id, Stripe time, event data) → Outcome ------------------------------


# https://docs.stripe.com/api/events/types#event_types-invoice.payment_failed
def invoice_payment_failed(event_id: str, at: datetime, data: dict) -> Outcome:
    invoice = event_object(data)
    outcome = cases.failure_apply(invoice=invoice, event_id=event_id, event_at=at)
    abuse.decline_observed(customer_id=id_of(invoice.get("customer")), event_id=event_id, at=at)
    return outcome


# https://docs.stripe.com/api/events/types#event_types-payment_intent.payment_failed
def payment_intent_failed(event_id: str, at: datetime, data: dict) -> Outcome:
    return cases.payment_error_apply(intent=event_object(data), event_id=event_id, event_at=at)


# https://docs.stripe.com/api/events/types#event_types-invoice.paid
def invoice_paid(event_id: str, at: datetime, data: dict, *, kind: str) -> Outcome:
    invoice = event_object(data)
    subscription = invoice_subscription_id(invoice) or f"invoice:{invoice.get('id', '')}"
    return cases.payment_apply(subscription_id=subscription, event_id=event_id, event_at=at, reason=kind)


# https://docs.stripe.com/api/events/types#event_types-customer.subscription.updated
def subscription_updated(event_id: str, at: datetime, data: dict) -> Outcome:
    subscription = event_object(data)
    customer_id = id_of(subscription.get("customer"))
    signup.trial_end_apply(customer_id=customer_id, status=subscription.get("status", ""), event_id=event_id)
    signup.plan_change_apply(customer_id=customer_id, subscription=subscription, event_id=event_id)
    previous = (data or {}).get("previous_attributes")
    # Only a move *to* active recovers: an update of an already-active
    # subscription (metadata, plan) says nothing about the failed invoice.
    # Events without previous_attributes (localstripe) count as a move.
    moved = previous is None or "status" in previous
    if subscription.get("status") == "active" and moved:
        return cases.payment_apply(
            subscription_id=subscription.get("id", ""),
            event_id=event_id,
            event_at=at,
            reason="customer.subscription.updated: active",
        )
    return Outcome(note=f"nothing to do: subscription {subscription.get('status') or 'unchanged'}")


# https://docs.stripe.com/api/events/types#event_types-customer.subscription.deleted
def subscription_deleted(event_id: str, at: datetime, data: dict) -> Outcome:
    subscription = event_object(data)
    return cases.cancellation_apply(
        subscription_id=subscription.get("id", ""),
        customer_id=id_of(subscription.get("customer")),
        event_id=event_id,
        event_at=at,
    )


# https://docs.stripe.com/api/events/types#event_types-checkout.session.completed
def checkout_completed(event_id: str, at: datetime, data: dict) -> Outcome:
    session = event_object(data)
    if session.get("mode") == "payment":
        return purchases.purchase_apply(session=session, event_id=event_id, at=at)
    return signup.checkout_apply(session=session, event_id=event_id, at=at)


# https://docs.stripe.com/api/events/types#event_types-checkout.session.async_payment_succeeded
def checkout_payment_succeeded(event_id: str, at: datetime, data: dict) -> Outcome:
    session = event_object(data)
    if session.get("mode") != "payment":
        return Outcome(note="nothing to do: not a payment checkout")
    return purchases.purchase_apply(session=session, event_id=event_id, at=at, paid=True)


HANDLERS: dict[str, Callable[[str, datetime, dict], Outcome]] = {
    "invoice.payment_failed": invoice_payment_failed,
    "payment_intent.payment_failed": payment_intent_failed,
    "invoice.paid": lambda event_id, at, data: invoice_paid(event_id, at, data, kind="invoice.paid"),
    "invoice.payment_succeeded": lambda event_id, at, data: invoice_paid(
        event_id, at, data, kind="invoice.payment_succeeded"
    ),
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_payment_succeeded,
}


def apply(*, kind: str, event_id: str, at: datetime, data: dict) -> Outcome | None:
    """Run billing's handler for a stored event; None if billing has none."""
    handler = HANDLERS.get(kind)
    return handler(event_id, at, data or {}) if handler else None


@djstripe_receiver(list(HANDLERS))
def on_event(sender, event, **kwargs):
    outcome = apply(kind=event.type, event_id=event.id, at=event_time(event), data=event.data)
    collected = _collected.get()
    if collected is not None and outcome is not None:
        collected[event.id] = outcome


# https://docs.stripe.com/api/events/types#event_types-charge.failed
@djstripe_receiver(["charge.succeeded", "charge.failed"])
def on_charge(sender, event, **kwargs):
    abuse.charge_observed(charge=event_object(event.data), event_id=event.id, at=event_time(event))


# https://docs.stripe.com/api/events/types#event_types-checkout.session.async_payment_failed
@djstripe_receiver("checkout.session.async_payment_failed")
def on_checkout_payment_failed(sender, event, **kwargs):
    session = event_object(event.data)
    abuse.checkout_failure_observed(customer_id=id_of(session.get("customer")), event_id=event.id, at=event_time(event))


# https://docs.stripe.com/api/events/types#event_types-setup_intent.setup_failed
@djstripe_receiver("setup_intent.setup_failed")
def on_setup_failed(sender, event, **kwargs):
    abuse.setup_failure_observed(intent=event_object(event.data), event_id=event.id, at=event_time(event))
