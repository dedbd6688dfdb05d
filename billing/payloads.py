"""Reading Stripe's payloads in either API shape, for billing and support:
ids and times, an event's object and time, the facts of a failed invoice,
its subscription, the decline behind it. Pure functions (plus a read of what
dj-stripe synced); no writes."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from djstripe.models import Charge, PaymentIntent

# Decline codes for which Stripe will not retry and the customer must add a
# new card (https://docs.stripe.com/declines/codes).
HARD_DECLINE_CODES = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "merchant_blacklist",
        "card_not_supported",
        "expired_card",
        "incorrect_number",
        "invalid_account",
        "new_account_information_available",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "stop_payment_order",
        "transaction_not_allowed",
    }
)


# --- Ids, times, events -------------------------------------------------------------


def stripe_time(value) -> datetime | None:
    """A Stripe Unix time as an aware datetime; None for a missing or 0 one
    (e.g. a dispute's `due_by` when the bank allows no response)."""
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def id_of(value) -> str:
    """The id of a Stripe reference: an id string, or an expanded object; "" otherwise."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def event_time(event) -> datetime:
    """When Stripe created a dj-stripe `Event` (a datetime or a Unix time), aware."""
    created = event.created
    if isinstance(created, datetime):
        return created if created.tzinfo else created.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(created), tz=UTC)


def event_object(data) -> dict:
    """The object an event's `data` carries ({} when there is none)."""
    return (data or {}).get("object") or {}


# --- Reading Stripe's invoice payloads ------------------------------------------


@dataclass
class InvoiceFacts:
    invoice_id: str
    customer_id: str
    subscription_id: str
    amount_due: int
    currency: str
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str
    failure_code: str = ""
    decline_code: str = ""
    failure_reason: str = ""
    extra: dict = field(default_factory=dict)


def invoice_subscription_id(invoice: dict) -> str:
    """The invoice's subscription in either API shape: `parent.subscription_details
    .subscription` (current API; `subscription` is gone) or `subscription`
    (older API versions, and localstripe)."""
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    current = details.get("subscription") if isinstance(details, dict) else None
    return id_of(current) or id_of(invoice.get("subscription"))


def invoice_payment_error(invoice: dict) -> tuple[str, str, str]:
    """(failure code, decline code, message) for the invoice's last payment,
    from the payload when Stripe expanded it, else from what dj-stripe synced."""
    candidates = []
    for key in ("payment_intent", "charge"):
        value = invoice.get(key)
        if isinstance(value, dict):
            candidates.append((key, value))
    if not candidates:
        # dj-stripe 2.11 keeps these fields in the synced object's JSON. The
        # current API has no `invoice.payment_intent`: the attempt is under
        # `payments` (when included), or arrives as payment_intent.payment_failed
        # (see `payment_error_apply`).
        pi_id, charge_id = id_of(invoice.get("payment_intent")), id_of(invoice.get("charge"))
        payments = invoice.get("payments")
        if not pi_id and isinstance(payments, dict) and isinstance(payments.get("data"), list):
            for row in reversed(payments["data"]):
                payment = row.get("payment") if isinstance(row, dict) else None
                if isinstance(payment, dict) and id_of(payment.get("payment_intent")):
                    pi_id = id_of(payment.get("payment_intent"))
                    break
        if pi_id:
            intent = PaymentIntent.objects.filter(id=pi_id).values_list("stripe_data", flat=True).first()
            if intent:
                candidates.append(("payment_intent", intent))
        if charge_id:
            charge = Charge.objects.filter(id=charge_id).values_list("stripe_data", flat=True).first()
            if charge:
                candidates.append(("charge", charge))
    code = decline = message = ""
    for key, value in candidates:
        if key == "payment_intent":
            error = value.get("last_payment_error") or {}
            code = code or error.get("code") or ""
            decline = decline or error.get("decline_code") or ""
            message = message or error.get("message") or ""
        else:
            outcome = value.get("outcome") or {}
            code = code or value.get("failure_code") or ""
            decline = decline or outcome.get("reason") or ""
            message = message or value.get("failure_message") or outcome.get("seller_message") or ""
    return code, decline, message


def invoice_facts(invoice: dict) -> InvoiceFacts:
    code, decline, message = invoice_payment_error(invoice)
    return InvoiceFacts(
        invoice_id=invoice.get("id") or "",
        customer_id=id_of(invoice.get("customer")),
        subscription_id=invoice_subscription_id(invoice),
        amount_due=int(invoice.get("amount_remaining") or invoice.get("amount_due") or 0),
        currency=(invoice.get("currency") or "").lower(),
        attempt_count=int(invoice.get("attempt_count") or 0),
        next_payment_attempt=stripe_time(invoice.get("next_payment_attempt")),
        hosted_invoice_url=invoice.get("hosted_invoice_url") or "",
        failure_code=code,
        decline_code=decline,
        failure_reason=message or decline or code,
    )


def intent_error(intent: dict) -> tuple[str, str, str] | None:
    """(failure code, decline code, message) of a PaymentIntent's last
    payment error, or None when it carries none."""
    error = intent.get("last_payment_error")
    if not isinstance(error, dict):
        return None
    code = str(error.get("code") or "")[:100]
    decline = str(error.get("decline_code") or "")[:100]
    reason = str(error.get("message") or decline or code)[:500]
    return code, decline, reason
