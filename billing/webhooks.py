"""Stripe event type → dunning service. dj-stripe calls these inside
`Event.process`, after it has synced the object from the Stripe API; they
read the event's own payload (either API shape) and call one service.

https://docs.stripe.com/api/events/types
"""

from datetime import UTC, datetime

from djstripe.event_handlers import djstripe_receiver

from . import abuse, services


def _when(event) -> datetime:
    created = event.created
    if isinstance(created, datetime):
        return created if created.tzinfo else created.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(created), tz=UTC)


def _object(event) -> dict:
    return (event.data or {}).get("object") or {}


# https://docs.stripe.com/api/events/types#event_types-invoice.payment_failed
@djstripe_receiver("invoice.payment_failed")
def on_invoice_payment_failed(sender, event, **kwargs):
    invoice = _object(event)
    services.case_record_failure(invoice=invoice, event_id=event.id, event_at=_when(event))
    abuse.decline_observed(customer_id=services._id(invoice.get("customer")), event_id=event.id, at=_when(event))


# https://docs.stripe.com/api/events/types#event_types-payment_intent.payment_failed
@djstripe_receiver("payment_intent.payment_failed")
def on_payment_intent_failed(sender, event, **kwargs):
    services.case_record_payment_error(intent=_object(event), event_id=event.id, event_at=_when(event))


# https://docs.stripe.com/api/events/types#event_types-invoice.paid
@djstripe_receiver(["invoice.paid", "invoice.payment_succeeded"])
def on_invoice_paid(sender, event, **kwargs):
    invoice = _object(event)
    subscription = services.invoice_subscription_id(invoice) or f"invoice:{invoice.get('id', '')}"
    services.case_record_payment(
        subscription_id=subscription, event_id=event.id, event_at=_when(event), reason=event.type
    )


# https://docs.stripe.com/api/events/types#event_types-customer.subscription.updated
@djstripe_receiver("customer.subscription.updated")
def on_subscription_updated(sender, event, **kwargs):
    subscription = _object(event)
    previous = (event.data or {}).get("previous_attributes")
    # Only a move *to* active recovers: an update of an already-active
    # subscription (metadata, plan) says nothing about the failed invoice.
    # Events without previous_attributes (localstripe) count as a move.
    moved = previous is None or "status" in previous
    if subscription.get("status") == "active" and moved:
        services.case_record_payment(
            subscription_id=subscription.get("id", ""),
            event_id=event.id,
            event_at=_when(event),
            reason="customer.subscription.updated: active",
        )


# https://docs.stripe.com/api/events/types#event_types-customer.subscription.deleted
@djstripe_receiver("customer.subscription.deleted")
def on_subscription_deleted(sender, event, **kwargs):
    subscription = _object(event)
    services.case_record_cancellation(
        subscription_id=subscription.get("id", ""),
        customer_id=services._id(subscription.get("customer")),
        event_id=event.id,
        event_at=_when(event),
    )


# https://docs.stripe.com/api/events/types#event_types-charge.failed
@djstripe_receiver(["charge.succeeded", "charge.failed"])
def on_charge(sender, event, **kwargs):
    abuse.charge_observed(charge=_object(event), event_id=event.id, at=_when(event))


# https://docs.stripe.com/api/events/types#event_types-checkout.session.async_payment_failed
@djstripe_receiver("checkout.session.async_payment_failed")
def on_checkout_payment_failed(sender, event, **kwargs):
    session = _object(event)
    abuse.checkout_failure_observed(
        customer_id=services._id(session.get("customer")), event_id=event.id, at=_when(event)
    )
