"""One-off purchases through Stripe Checkout in payment mode: done-for-you
builds (the /dfy-contract, paid in full and up front by card, clause 6.1).

Billing owns how Stripe is asked and how its answer is read; the app that
sells the thing owns what a purchase creates. `dfy_checkout_start` asks
Stripe for a Checkout Session (the DFY tier's one-off catalogue price by
lookup key, card only, the account and tier in the metadata) and returns its
URL. When Stripe says the customer paid (`checkout.session.completed` with
`payment_status=paid`, or `checkout.session.async_payment_succeeded`), the
webhook intake calls `purchase_apply`, which hands a `Purchase` to the
handler registered for the metadata's product (support registers "dfy" from
its `AppConfig.ready()`; billing never imports support). Handlers must be
idempotent on the session id: Stripe may deliver both events, and again.
https://docs.stripe.com/payments/checkout/fulfill-orders
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import stripe
from django.conf import settings
from django.urls import reverse

from levqor.accounts.models import User

from . import catalogue
from .catalogue import DfyOffer
from .payloads import id_of
from .signup import CheckoutError
from .standing import Outcome

PRODUCT_KEY = "levqor_purchase"


@dataclass(frozen=True)
class Purchase:
    """A completed one-off checkout, as Stripe reported it."""

    session_id: str
    product: str
    metadata: dict
    customer_id: str
    payment_intent_id: str
    amount_minor: int | None
    currency: str
    paid: bool
    email: str
    event_id: str
    at: datetime


_handlers: dict[str, Callable[[Purchase], str]] = {}


def register(product: str, handler: Callable[[Purchase], str]) -> None:
    """Name the handler that fulfils a product's purchases; it returns a note for the event log."""
    _handlers[product] = handler


def dfy_checkout_start(*, item: DfyOffer, user: User, success_path: str) -> str:
    """A Checkout Session in payment mode for one DFY build, bought by a
    signed-in customer for their account. Returns its URL. Raises
    CheckoutError when Stripe or the price is unavailable."""
    account = user.account
    metadata = {PRODUCT_KEY: "dfy", "dfy_tier": item.tier.code, "account": str(account.pk), "user": str(user.pk)}
    base = settings.LEVQOR_BASE_URL
    params: dict = {
        "mode": "payment",
        "line_items": [{"price": None, "quantity": 1}],
        "payment_method_types": ["card"],  # clause 6.1: by card
        "success_url": base + success_path + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": base + reverse("pages:pricing"),
        "client_reference_id": f"account-{account.pk}",
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": item.product_name},
    }
    if account.stripe_customer_id:
        params["customer"] = account.stripe_customer_id
    else:
        params["customer_email"] = user.email
        params["customer_creation"] = "always"  # refunds and chargebacks find the buyer
    started = time.perf_counter()
    try:
        params["line_items"][0]["price"] = catalogue.price_id(item)
        session = stripe.checkout.Session.create(api_key=catalogue.api_key(), **params)
    except catalogue.CatalogueError as exc:
        raise CheckoutError("This build cannot be bought online right now. Please try again later.") from exc
    except stripe.StripeError as exc:
        catalogue.contact(started, exc)
        raise CheckoutError("We could not reach our payment provider. Please try again in a minute.") from exc
    catalogue.contact(started, None)
    return session["url"]


def purchase_apply(*, session: dict, event_id: str, at: datetime, paid: bool | None = None) -> Outcome:
    """Fulfil a completed payment-mode checkout through its product's handler.
    `paid` overrides the session's own `payment_status` (an
    `async_payment_succeeded` event says it is paid). Safe to run twice."""
    metadata = session.get("metadata") or {}
    handler = _handlers.get(str(metadata.get(PRODUCT_KEY, "")))
    if handler is None:
        return Outcome(note="ignored: a payment checkout that is not a Levqor purchase")
    details = session.get("customer_details") or {}
    total = session.get("amount_total")
    purchase = Purchase(
        session_id=str(session.get("id", "")),
        product=str(metadata[PRODUCT_KEY]),
        metadata={str(k): str(v) for k, v in metadata.items()},
        customer_id=id_of(session.get("customer")),
        payment_intent_id=id_of(session.get("payment_intent")),
        amount_minor=int(total) if isinstance(total, int) and not isinstance(total, bool) else None,
        currency=str(session.get("currency") or "").upper()[:3],
        paid=paid if paid is not None else session.get("payment_status") == "paid",
        email=str(details.get("email") or session.get("customer_email") or "").strip().lower(),
        event_id=event_id,
        at=at,
    )
    if not purchase.session_id:
        return Outcome(note="ignored: checkout without an id")
    return Outcome(note=handler(purchase)[:255])
