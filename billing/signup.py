"""Self-service subscriptions: the trial started through Stripe Checkout, the
account its completion creates (or the signed-in person's it links), and
Stripe Billing Portal sessions.

`checkout_start` asks Stripe for a Checkout Session in subscription mode
(the catalogue's price by lookup key, a `TRIAL_DAYS` trial, card required)
and returns its URL. Nothing is written until Stripe says the customer
finished: `checkout.session.completed` arrives as a webhook, is processed
off the request path like every event, and `checkout_apply` creates the
account with the plan the session's metadata names (checked against the
catalogue) and queues a sign-in link in the outbox.
https://docs.stripe.com/billing/subscriptions/trials
"""

import time
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from djstripe.models import Subscription

from compliance import audit
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_create, account_set_billing_state, account_set_plan, login_link_send
from levqor.plans import TRIAL_DAYS

from . import catalogue
from .catalogue import Offer
from .payloads import id_of
from .standing import Outcome


class CheckoutError(Exception):
    """Stripe could not be asked now; the message is safe to show."""


# Accounts with these states already pay for something: they change plan in
# the Billing Portal instead of starting a second subscription.
LIVE_STATES = (Account.BillingState.TRIALING, Account.BillingState.ACTIVE, Account.BillingState.PAUSED_BILLING)


def trial_offered(user: User | None) -> bool:
    """The trial is for newcomers: an account that had a Stripe customer
    (a canceled customer coming back) resubscribes without one."""
    account = getattr(user, "account", None) if user is not None and user.is_authenticated else None
    return account is None or not account.stripe_customer_id


def checkout_start(*, item: Offer, user: User | None) -> str:
    """Create a Checkout Session for an offer and return its URL. The signed-in
    person's account (if any) is named in the metadata and, when it has a
    Stripe customer, reused. Raises CheckoutError when Stripe or the price
    is unavailable."""
    # Only a customer's sign-in counts: a staff login (no account) checks out as anyone would.
    signed_in = user if user is not None and user.is_authenticated and user.account_id else None
    account = signed_in.account if signed_in is not None else None
    base = settings.LEVQOR_BASE_URL
    metadata = {"plan": item.plan.code, "interval": item.interval}
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": None, "quantity": 1}],
        "payment_method_collection": "always",  # card required, even for the trial
        "success_url": base + reverse("billing:welcome") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": base + reverse("pages:pricing"),
        "subscription_data": {"metadata": metadata},
    }
    trial = trial_offered(signed_in)
    if trial:
        params["subscription_data"]["trial_period_days"] = TRIAL_DAYS
        params["subscription_data"]["trial_settings"] = {"end_behavior": {"missing_payment_method": "cancel"}}
    if signed_in is not None:
        metadata["user"] = str(signed_in.pk)
        params["client_reference_id"] = f"user-{signed_in.pk}"
        if account is not None and account.stripe_customer_id:
            params["customer"] = account.stripe_customer_id
        else:
            params["customer_email"] = signed_in.email
    metadata["trial"] = "1" if trial else "0"
    params["metadata"] = metadata
    started = time.perf_counter()
    try:
        params["line_items"][0]["price"] = catalogue.price_id(item)
        session = stripe.checkout.Session.create(api_key=catalogue.api_key(), **params)
    except catalogue.CatalogueError as exc:
        raise CheckoutError("This plan cannot be bought online right now. Please try again later.") from exc
    except stripe.StripeError as exc:
        catalogue.contact(started, exc)
        raise CheckoutError("We could not reach our payment provider. Please try again in a minute.") from exc
    catalogue.contact(started, None)
    return session["url"]


def portal_url(*, account: Account, return_url: str) -> str:
    """A Stripe Billing Portal session for the account (update card, change
    plan, cancel). Raises CheckoutError when it has no Stripe customer or
    Stripe cannot be reached."""
    if not account.stripe_customer_id:
        raise CheckoutError("This account has no billing details with our payment provider yet.")
    started = time.perf_counter()
    try:
        session = stripe.billing_portal.Session.create(
            customer=account.stripe_customer_id, return_url=return_url, api_key=catalogue.api_key()
        )
    except stripe.StripeError as exc:
        catalogue.contact(started, exc)
        raise CheckoutError("We could not reach our payment provider. Please try again in a minute.") from exc
    catalogue.contact(started, None)
    return session["url"]


# --- The completed checkout (webhook) ---------------------------------------------------------


def _trial_end(subscription_id: str, trial: bool, at: datetime) -> datetime | None:
    mirrored = Subscription.objects.filter(id=subscription_id).first() if subscription_id else None
    if mirrored is not None:
        return mirrored.trial_end
    return at + timedelta(days=TRIAL_DAYS) if trial else None


@transaction.atomic
def checkout_apply(*, session: dict, event_id: str, at: datetime) -> Outcome:
    """Apply a completed subscription checkout: link the signed-in person's
    account, the account that already has this Stripe customer (a customer
    coming back), or create an account and its owner; set plan, interval,
    trial and Stripe customer; queue a sign-in link. Safe to run twice."""
    if session.get("mode") != "subscription":
        return Outcome(note="ignored: not a subscription checkout")
    metadata = session.get("metadata") or {}
    try:
        item = catalogue.offer(str(metadata.get("plan", "")), str(metadata.get("interval", "")))
    except ValueError:
        return Outcome(note="ignored: no Levqor plan in the checkout's metadata")
    customer_id = id_of(session.get("customer"))
    if not customer_id:
        return Outcome(note="ignored: checkout without a customer")
    details = session.get("customer_details") or {}
    email = str(details.get("email") or session.get("customer_email") or "").strip().lower()
    trial_end = _trial_end(id_of(session.get("subscription")), metadata.get("trial") == "1", at)
    state = Account.BillingState.TRIALING if trial_end and trial_end > at else Account.BillingState.ACTIVE

    account = Account.objects.select_for_update().filter(stripe_customer_id=customer_id).first()
    how = "returning customer"
    if account is None and str(metadata.get("user", "")).isdigit():
        person = User.objects.filter(pk=int(metadata["user"]), account__isnull=False).first()
        if person is not None:
            account, how = Account.objects.select_for_update().get(pk=person.account_id), "signed-in customer"
            email = person.email
            if account.stripe_customer_id and account.stripe_customer_id != customer_id:
                return Outcome(note=f"needs staff: account {account.pk} has another Stripe customer")
    if account is None and email:
        owner = User.objects.filter(email__iexact=email, account__isnull=False).select_related("account").first()
        if owner is not None:
            # A known address, not signed in: only an account with nothing
            # live is taken over; otherwise staff link it by hand.
            if owner.account.billing_state in LIVE_STATES and owner.account.stripe_customer_id:
                return Outcome(note=f"needs staff: {customer_id} checked out as the owner of a live account")
            account, how = Account.objects.select_for_update().get(pk=owner.account_id), "existing address"
    if account is None:
        if not email:
            return Outcome(note="ignored: checkout without an email address")
        if User.objects.filter(email__iexact=email).exists():
            # A person with no account (staff): never turned into a customer silently.
            return Outcome(note=f"needs staff: {customer_id} checked out as a user with no account")
        name = str(details.get("name") or email.split("@")[0])[:200]
        account = account_create(
            name=name,
            plan=item.plan.code,
            owner_email=email,
            owner_name=name,
            billing_interval=item.interval,
            billing_state=state,
            actor=None,
        )
        how = "new customer"
    account.stripe_customer_id = customer_id
    account.plan = item.plan.code
    account.billing_interval = item.interval
    account.billing_state = state
    account.trial_ends_at = trial_end if state == Account.BillingState.TRIALING else None
    account.save(update_fields=["stripe_customer_id", "plan", "billing_interval", "billing_state", "trial_ends_at"])
    audit.record(
        actor=None,
        action="billing.checkout_completed",
        target=account,
        details={
            "how": how,
            "plan": item.plan.code,
            "interval": item.interval,
            "stripe_customer": customer_id,
            "checkout_session": str(session.get("id", "")),
            "event": event_id,
        },
    )
    owner = account.users.filter(is_active=True).order_by("date_joined", "pk").first()
    if owner is not None:
        login_link_send(email=owner.email, next_url=reverse("billing:overview"))
    return Outcome(note=f"{how}: account {account.pk} on {item.plan.code} {item.interval} ({state})")


def plan_change_apply(*, customer_id: str, subscription: dict, event_id: str) -> bool:
    """`customer.subscription.updated` whose price is one of the catalogue's
    (a plan changed in the Billing Portal): the account follows it, so its
    SLA hours and API quota are the plan it pays for. Prices outside the
    catalogue change nothing. Returns whether the account changed."""
    if not customer_id or subscription.get("status") not in ("active", "trialing", "past_due"):
        return False
    items = ((subscription.get("items") or {}).get("data")) or []
    price = (items[0].get("price") or {}) if items else {}
    item = catalogue.offer_for_lookup_key(price.get("lookup_key") or "")
    if item is None:
        return False
    account = Account.objects.filter(stripe_customer_id=customer_id).first()
    if account is None:
        return False
    return account_set_plan(
        account=account,
        plan=item.plan.code,
        interval=item.interval,
        reason=f"plan changed at Stripe ({event_id})",
        actor=None,
    )


def trial_end_apply(*, customer_id: str, status: str, event_id: str) -> bool:
    """`customer.subscription.updated` to `active` for a trialing account:
    the trial became a paid subscription. Returns whether it changed."""
    if status != "active" or not customer_id:
        return False
    account = Account.objects.filter(
        stripe_customer_id=customer_id, billing_state=Account.BillingState.TRIALING
    ).first()
    if account is None:
        return False
    return account_set_billing_state(
        account=account,
        state=Account.BillingState.ACTIVE,
        reason=f"trial ended, subscription active ({event_id})",
        actor=None,
    )
