"""Log-only abuse signals from Stripe events.

Nothing is blocked: past a threshold we call compliance's
`abuse_signal_record`, which logs a WARNING with the customer id hashed and
counts it on the admin index. Counts live in the shared cache (Redis in
production), keyed by customer and a fixed window; each Stripe event is
counted once however often it is delivered or processed.

- card_decline: three or more failed invoice payments for one customer in 24 h
- failed_checkout: three or more failed checkout payments, or cards refused
  while setting up a trial in Checkout, for one customer (or one card) in 24 h
- card_testing: five or more small charges (under 2.00 in the charge's
  currency) for one customer (or, without one, one card fingerprint) within
  an hour, succeeded or failed
"""

from datetime import datetime, timedelta

from django.core.cache import cache

from compliance.abuse import abuse_signal_record

from .payloads import id_of

THRESHOLDS = {
    "card_decline": (3, timedelta(hours=24)),
    "failed_checkout": (3, timedelta(hours=24)),
    "card_testing": (5, timedelta(hours=1)),
}
SMALL_CHARGE_MINOR_UNITS = 200


def _count(kind: str, customer_id: str, event_id: str, at: datetime) -> int | None:
    """Add this event to the customer's window; None if it was counted before."""
    threshold, window = THRESHOLDS[kind]
    seconds = int(window.total_seconds())
    if not cache.add(f"abuse:seen:{kind}:{event_id}", 1, timeout=seconds * 2):
        return None
    key = f"abuse:{kind}:{customer_id}:{int(at.timestamp()) // seconds}"
    cache.add(key, 0, timeout=seconds + 60)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds + 60)
        return 1


def _observe(kind: str, *, customer_id: str, event_id: str, at: datetime, details: dict) -> bool:
    """Count one event; record a signal when the count reaches the threshold
    and again each time it doubles past it. Returns whether it signalled."""
    if not customer_id or not event_id:
        return False
    count = _count(kind, customer_id, event_id, at)
    threshold, _ = THRESHOLDS[kind]
    if count is None or count < threshold:
        return False
    if count != threshold and count & (count - 1):
        return False
    abuse_signal_record(kind=kind, identifier=customer_id, count=count, details=details, now=at)
    return True


def decline_observed(*, customer_id: str, event_id: str, at: datetime, decline_code: str = "") -> bool:
    """A failed invoice payment (`invoice.payment_failed`)."""
    return _observe(
        "card_decline", customer_id=customer_id, event_id=event_id, at=at, details={"decline_code": decline_code}
    )


def checkout_failure_observed(*, customer_id: str, event_id: str, at: datetime) -> bool:
    """A failed checkout payment (`checkout.session.async_payment_failed`)."""
    return _observe("failed_checkout", customer_id=customer_id, event_id=event_id, at=at, details={})


def setup_failure_observed(*, intent: dict, event_id: str, at: datetime) -> bool:
    """`setup_intent.setup_failed`: the card a trial checkout asked for was
    refused. Counted per customer, else per card fingerprint (a checkout
    that fails has often made no customer yet)."""
    customer_id = id_of(intent.get("customer"))
    error = intent.get("last_setup_error") or {}
    if not customer_id:
        card = (error.get("payment_method") or {}).get("card") or {}
        customer_id = f"card:{card['fingerprint']}" if card.get("fingerprint") else ""
    details = {"code": str(error.get("decline_code") or error.get("code") or "")[:60]}
    return _observe("failed_checkout", customer_id=customer_id, event_id=event_id, at=at, details=details)


def charge_observed(*, charge: dict, event_id: str, at: datetime) -> bool:
    """Any `charge.succeeded` / `charge.failed`: only small ones count."""
    amount = charge.get("amount")
    if not isinstance(amount, int) or amount >= SMALL_CHARGE_MINOR_UNITS:
        return False
    customer_id = id_of(charge.get("customer"))
    if not customer_id:
        # Card testers rarely create customers: fall back to the card's
        # fingerprint, which is the same for every charge on one card.
        card = (charge.get("payment_method_details") or {}).get("card") or {}
        customer_id = f"card:{card['fingerprint']}" if card.get("fingerprint") else ""
    return _observe(
        "card_testing",
        customer_id=customer_id,
        event_id=event_id,
        at=at,
        details={"currency": str(charge.get("currency") or ""), "status": str(charge.get("status") or "")},
    )
