"""Marketing email: double opt-in, preferences and one-click unsubscribe.

Subscribing (form or API) creates or refreshes a *pending* subscription and
emails a confirmation link valid 7 days; only a confirmed address gets
marketing email, and only for the topics it keeps ticked. Every marketing
email carries a one-click unsubscribe link and the `List-Unsubscribe`
headers (RFC 8058), added by `compliance.mail.send` for purpose "marketing".
The preference/unsubscribe link is signed (it never expires: unsubscribing
must always work); the confirmation token is random and stored hashed.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from . import audit
from .marketing_links import (  # noqa: F401 - views and templates reach the links through this module too
    manage_token,
    normalise,
    preferences_url,
    subscription_from_manage_token,
    unsubscribe_url,
)
from .models import MARKETING_TOPICS, MarketingSubscription, Objection
from .outbox.services import email_queue

CONFIRM_VALID = timedelta(days=7)
TOPIC_CODES = tuple(code for code, _ in MARKETING_TOPICS)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- selectors -------------------------------------------------------------------


def marketing_counts() -> dict:
    rows = MarketingSubscription.objects
    return {status: rows.filter(status=status).count() for status in MarketingSubscription.Status.values}


def marketing_export(*, user) -> dict | None:
    """The marketing subscription of `user`'s address, as a plain dict (DSAR)."""
    s = MarketingSubscription.objects.filter(email=normalise(user.email)).first()
    if s is None:
        return None
    return {
        "email": s.email,
        "status": s.status,
        "topics": s.topics,
        "created_at": s.created_at.isoformat(),
        "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else None,
        "unsubscribed_at": s.unsubscribed_at.isoformat() if s.unsubscribed_at else None,
    }


def marketing_status(*, email: str) -> dict:
    """What marketing email this address gets, and why: its subscription
    (none, pending, confirmed, unsubscribed), its topics, and whether an
    objection to direct marketing is in force."""
    email = normalise(email)
    subscription = MarketingSubscription.objects.filter(email=email).first()
    objected = Objection.objects.filter(email=email, kind=Objection.Kind.MARKETING, active=True).exists()
    confirmed = subscription is not None and subscription.status == MarketingSubscription.Status.CONFIRMED
    return {
        "email": email,
        "subscription": subscription.status if subscription else "none",
        "topics": subscription.topics if subscription else dict.fromkeys(TOPIC_CODES, False),
        "objected_to_marketing": objected,
        "receives_marketing": confirmed and not objected and any(subscription.topics.values()),
    }


# --- services ----------------------------------------------------------------------


@dataclass(frozen=True)
class SubscribeOutcome:
    subscription: MarketingSubscription
    email_sent: bool


@transaction.atomic
def marketing_subscribe(
    *, email: str, topics: dict[str, bool] | None = None, source: str = "web", user=None, now=None
) -> SubscribeOutcome:
    """Ask `email` to confirm a subscription. Idempotent: while a confirmation
    sent in the last 7 days is pending, subscribing again sends nothing new;
    an already confirmed address is left as it is. Never reveals which."""
    email = normalise(email)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            subscription, _ = MarketingSubscription.objects.get_or_create(
                email=email, defaults={"source": source, "user": user if user and user.is_authenticated else None}
            )
    except IntegrityError:  # two requests raced to create it
        subscription = MarketingSubscription.objects.get(email=email)
    subscription = MarketingSubscription.objects.select_for_update().get(pk=subscription.pk)

    if subscription.status == MarketingSubscription.Status.CONFIRMED:
        return SubscribeOutcome(subscription, False)
    if (
        subscription.status == MarketingSubscription.Status.PENDING
        and subscription.confirm_sent_at
        and subscription.confirm_sent_at > now - CONFIRM_VALID
    ):
        return SubscribeOutcome(subscription, False)

    token = secrets.token_urlsafe(32)
    subscription.status = MarketingSubscription.Status.PENDING
    subscription.confirm_token_hash = _hash(token)
    subscription.confirm_sent_at = now
    if topics is not None:
        for code in TOPIC_CODES:
            setattr(subscription, code, bool(topics.get(code)))
    subscription.save()
    audit.record(actor=user, action="marketing.subscribe_requested", target=subscription, details={"via": source})
    link = settings.LEVQOR_BASE_URL + reverse("compliance:marketing_confirm", args=[token])
    # Asked for just now, so it reaches even an address that was suppressed (after an erasure, say).
    _queue("marketing-confirm", subscription, now, {"link": link, "days": CONFIRM_VALID.days}, requested=True)
    return SubscribeOutcome(subscription, True)


@transaction.atomic
def marketing_confirm(*, token: str, now=None) -> MarketingSubscription | None:
    """Confirm a subscription from its emailed link. Returns the subscription,
    or None if the link is unknown, replaced or older than 7 days. Following
    the link twice confirms once (and emails one welcome)."""
    now = now or timezone.now()
    if not token:
        return None
    subscription = MarketingSubscription.objects.select_for_update().filter(confirm_token_hash=_hash(token)).first()
    if subscription is None or subscription.confirm_sent_at is None:
        return None
    if subscription.status == MarketingSubscription.Status.CONFIRMED:
        return subscription
    if (
        subscription.status != MarketingSubscription.Status.PENDING
        or subscription.confirm_sent_at <= now - CONFIRM_VALID
    ):
        return None
    subscription.status = MarketingSubscription.Status.CONFIRMED
    subscription.confirmed_at = now
    subscription.unsubscribed_at = None
    subscription.save()
    # Confirming is a fresh, explicit request for marketing: it withdraws an
    # earlier objection to marketing for this address (the latest choice wins).
    Objection.objects.filter(email=subscription.email, kind=Objection.Kind.MARKETING, active=True).update(
        active=False, updated_at=now
    )
    audit.record(actor=None, action="marketing.confirmed", target=subscription, details={})
    _queue("marketing-confirmed", subscription, now, _links(subscription))
    return subscription


@transaction.atomic
def marketing_preferences_set(*, subscription: MarketingSubscription, topics: dict[str, bool], actor=None) -> bool:
    """Save topic choices; no topics left means unsubscribed. Returns whether
    anything changed (saving the same choices twice emails once)."""
    subscription = MarketingSubscription.objects.select_for_update().get(pk=subscription.pk)
    wanted = {code: bool(topics.get(code)) for code in TOPIC_CODES}
    if not any(wanted.values()):
        return marketing_unsubscribe(subscription=subscription, actor=actor)
    if wanted == subscription.topics:
        return False
    for code, value in wanted.items():
        setattr(subscription, code, value)
    subscription.save()
    audit.record(actor=actor, action="marketing.preferences_changed", target=subscription, details={"topics": wanted})
    if subscription.status == MarketingSubscription.Status.CONFIRMED:
        labels = [label for code, label in MARKETING_TOPICS if wanted[code]]
        _queue(
            "marketing-preferences-updated",
            subscription,
            timezone.now(),
            {**_links(subscription), "topic_labels": labels},
        )
    return True


@transaction.atomic
def marketing_unsubscribe(*, subscription: MarketingSubscription, actor=None, now=None) -> bool:
    """Stop all marketing email to this address. One click, no questions;
    returns False (and emails nothing) if it was already unsubscribed."""
    now = now or timezone.now()
    changed = (
        MarketingSubscription.objects.filter(pk=subscription.pk)
        .exclude(status=MarketingSubscription.Status.UNSUBSCRIBED)
        .update(status=MarketingSubscription.Status.UNSUBSCRIBED, unsubscribed_at=now, confirm_token_hash="")
    )
    if not changed:
        return False
    subscription.refresh_from_db()
    audit.record(actor=actor, action="marketing.unsubscribed", target=subscription, details={})
    _queue("marketing-unsubscribed", subscription, now, {"resubscribe_url": _subscribe_url()})
    return True


@transaction.atomic
def marketing_unsubscribe_email(*, email: str, actor=None, now=None) -> bool:
    subscription = MarketingSubscription.objects.filter(email=normalise(email)).first()
    if subscription is None:
        return False
    return marketing_unsubscribe(subscription=subscription, actor=actor, now=now)


def _links(subscription) -> dict:
    return {"preferences_url": preferences_url(subscription), "unsubscribe_url": unsubscribe_url(subscription)}


def _subscribe_url() -> str:
    return settings.LEVQOR_BASE_URL + reverse("compliance:marketing_subscribe")


def _queue(template: str, subscription: MarketingSubscription, at, context: dict, *, requested: bool = False) -> None:
    """A service message about the subscription itself, once per change
    (`at` tells two changes apart). The person asked for it, so it is
    transactional, which the policy always lets through. Its links manage
    the subscription, so the outbox forgets them once it is sent."""
    email_queue(
        kind="compliance.marketing-service",
        about=subscription,
        stage=f"{template}@{at.isoformat()}",
        template=template,
        to=subscription.email,
        context=context,
        sensitive=True,
        requested=requested,
    )
