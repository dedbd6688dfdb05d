"""Stripe chargebacks → the disputes queue. dj-stripe calls these inside
`Event.process` (run by billing's intake task), after it has synced the
dispute from the Stripe API; they read the event's own payload and call one
service, which is idempotent and order-safe.

https://docs.stripe.com/api/events/types#event_types-charge.dispute.created
"""

from djstripe.event_handlers import djstripe_receiver

from billing.payloads import event_object, event_time

from . import services

DISPUTE_EVENTS = [
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
]


@djstripe_receiver(DISPUTE_EVENTS)
def on_charge_dispute(sender, event, **kwargs):
    dispute = event_object(event.data)
    if dispute.get("object") != "dispute":
        return
    services.chargeback_record(
        dispute=dispute,
        event_id=event.id,
        event_type=event.type,
        event_at=event_time(event),
        livemode=bool(event.livemode),
    )
