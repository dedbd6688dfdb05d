"""The latest payment fact per subscription, in Stripe's time: what keeps a
late or reordered Stripe delivery from reopening a recovered case, and the
`Outcome` every event-driven service returns."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from .models import DunningCase, SubscriptionStanding

# How far apart (Stripe time) a PaymentIntent failure and the invoice failure
# of the same attempt may be: Stripe sends them together, in any order.
SAME_ATTEMPT = timedelta(hours=1)


@dataclass(frozen=True)
class Outcome:
    """What applying one Stripe event did, for the event log and the case
    timeline: a note ("opened case #3", "ignored: late failure after
    recovery"), the case it touched, and whether it is `unmatched` (kept to
    be applied later)."""

    note: str
    case: DunningCase | None = None
    unmatched: bool = False


def standing_locked(subscription_id: str) -> SubscriptionStanding | None:
    """The subscription's standing row, locked for this transaction."""
    return SubscriptionStanding.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()


def standing_set(subscription_id: str, standing: str, event_at: datetime, event_id: str) -> None:
    current = standing_locked(subscription_id)
    if current is None:
        try:
            with transaction.atomic():
                SubscriptionStanding.objects.create(
                    stripe_subscription_id=subscription_id, standing=standing, as_of=event_at, event_id=event_id
                )
            return
        except IntegrityError:
            current = standing_locked(subscription_id)
    current.standing = standing
    current.as_of = max(current.as_of, event_at)
    current.event_id = event_id
    current.save(update_fields=["standing", "as_of", "event_id"])


def failure_is_stale(subscription_id: str, event_at: datetime) -> bool:
    """A failure older than (or as old as) a payment or cancellation already
    applied: a reordered delivery that must not reopen anything."""
    current = standing_locked(subscription_id)
    return (
        current is not None
        and current.standing in (SubscriptionStanding.Standing.OK, SubscriptionStanding.Standing.CANCELED)
        and current.as_of >= event_at
    )


def payment_is_stale(subscription_id: str, event_at: datetime) -> bool:
    """A payment older than a failure (or as old as a cancellation) already applied."""
    current = standing_locked(subscription_id)
    if current is None:
        return False
    if current.standing == SubscriptionStanding.Standing.CANCELED:
        return current.as_of >= event_at
    return current.standing == SubscriptionStanding.Standing.FAILING and current.as_of > event_at


def case_latest(subscription_id: str) -> DunningCase | None:
    return DunningCase.objects.filter(stripe_subscription_id=subscription_id).order_by("-opened_at").first()
