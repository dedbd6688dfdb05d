"""Webhook subscribers' lifecycle: which endpoints may be called, the
public form and the owner's confirmation (the signing secret shown once),
staff adding one, unsubscribing, re-enabling, a new secret, and the outbox
hooks of the owner's emails. What they are sent, and how, is webhooks.py."""

import ipaddress
import socket
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance import audit
from compliance.outbox import kinds
from compliance.outbox.services import email_queue

from ..models import WebhookDelivery, WebhookSubscriber, webhook_secret
from . import deliveries, subscriptions

CONFIRM_KIND = "status.webhook-confirm"
DISABLED_KIND = "status.webhook-disabled"
RESEND_AFTER = timedelta(minutes=10)
TAGS = ["status", "webhooks"]


class EndpointRefused(Exception):
    """The endpoint may not be called (scheme, or it resolves to a private address)."""


def _address_problem(address: str, *, loopback_ok: bool) -> str | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.is_loopback and loopback_ok:
        return None
    if not ip.is_global or ip.is_multicast:
        return "The endpoint must be a public address."
    return None


def endpoint_problem(endpoint: str, *, resolve: bool = False) -> str | None:
    """Why `endpoint` cannot be a webhook, or None: https only (plain http to
    a loopback address where LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK), no
    credentials, no private or local address (checked again, resolved, at
    each send)."""
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "Enter a full URL starting with https://."
    if parts.scheme not in ("http", "https") or not host:
        return "Enter a full URL starting with https://."
    if parts.username or parts.password:
        return "The URL must not contain a user name or password."
    loopback_ok = settings.LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK
    addresses = [host]
    if resolve:
        try:
            addresses = [info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)]
        except OSError:
            addresses = [host]  # unresolvable: the POST fails and says so
    if host == "localhost":
        addresses.append("127.0.0.1")
    loopback = all(_is_loopback(a) for a in addresses)
    if parts.scheme == "http" and not (loopback_ok and loopback):
        return "The endpoint must use https://."
    for address in addresses:
        if problem := _address_problem(address, loopback_ok=loopback_ok):
            return problem
    return None


def _is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@transaction.atomic
def webhook_subscriber_subscribe(*, endpoint: str, email: str, components=(), now=None) -> WebhookSubscriber:
    """The public form: ask for webhooks to `endpoint`. Emails the owner a
    confirmation link (nothing is POSTed before it is followed); says nothing
    new about an endpoint already subscribed; at most one confirmation per
    (endpoint, address) every 10 minutes. Raises ValueError for a refused endpoint."""
    if problem := endpoint_problem(endpoint):
        raise ValueError(problem)
    now = now or timezone.now()
    email = email.strip().lower()
    subscriber, _ = WebhookSubscriber.objects.get_or_create(
        endpoint=endpoint, email=email, defaults={"created_at": now}
    )
    subscriber = WebhookSubscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.confirmed_at and not subscriber.unsubscribed_at:
        return subscriber  # active or disabled: its owner manages it from the emailed links
    if subscriber.confirm_sent_at and now - subscriber.confirm_sent_at < RESEND_AFTER:
        return subscriber
    if subscriber.unsubscribed_at:
        # Coming back: a fresh opt-in and a fresh secret.
        subscriber.confirmed_at = subscriber.unsubscribed_at = subscriber.disabled_at = None
        subscriber.consecutive_failures, subscriber.failing_since = 0, None
        subscriber.secret = webhook_secret()
    subscriber.confirm_sent_at = now
    subscriber.save()
    subscriber.components.set(list(components))
    email_queue(
        kind=CONFIRM_KIND,
        about=subscriber,
        stage=now.isoformat(),
        template="status-webhook-confirm",
        to=email,
        purpose="transactional",
        requested=True,  # asked for just now (the link is made at delivery: no token stored)
        tags=TAGS,
    )
    return subscriber


@transaction.atomic
def webhook_subscriber_confirm(*, token: str, now=None) -> tuple[WebhookSubscriber | None, str | None]:
    """The owner follows the emailed link (valid 7 days). Returns the
    subscriber and, only to the call that confirmed it, its signing secret
    (shown once). Safe to run twice. Audited."""
    subscriber = subscriptions.from_token(
        token, salt=subscriptions.WEBHOOK_CONFIRM_SALT, max_age=subscriptions.CONFIRM_MAX_AGE
    )
    if not isinstance(subscriber, WebhookSubscriber):
        return None, None
    now = now or timezone.now()
    if not WebhookSubscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(
        confirmed_at=now, unsubscribed_at=None
    ):
        return subscriber, None
    audit.record(actor=None, action="status.webhook.confirmed", target=subscriber)
    subscriber.refresh_from_db()
    return subscriber, subscriber.secret


@transaction.atomic
def webhook_subscriber_create(*, endpoint: str, email: str, components=(), actor, now=None) -> WebhookSubscriber:
    """Staff add a webhook subscriber in admin: active at once (staff vouch
    for it); the caller shows the secret once. Raises ValueError for a
    refused endpoint or one already subscribed for that address. Audited."""
    if problem := endpoint_problem(endpoint):
        raise ValueError(problem)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            subscriber = WebhookSubscriber.objects.create(
                endpoint=endpoint, email=email.strip().lower(), created_at=now, confirmed_at=now
            )
    except IntegrityError:
        raise ValueError("This endpoint is already subscribed for that address.") from None
    subscriber.components.set(list(components))
    audit.record(actor=actor, action="status.webhook.created", target=subscriber)
    return subscriber


def deliveries_give_up(*, subscriber_id: int, reason: str) -> int:
    """Deliveries still waiting for this subscriber are given up: pending
    ones say why; failed ones keep the error they last met."""
    mine = WebhookDelivery.objects.filter(subscriber_id=subscriber_id)
    pending = mine.filter(status=deliveries.Status.PENDING).update(
        status=deliveries.Status.FAILED, next_attempt_at=None, last_error=reason
    )
    retrying = mine.filter(status=deliveries.Status.FAILED, next_attempt_at__isnull=False).update(next_attempt_at=None)
    return pending + retrying


@transaction.atomic
def webhook_subscriber_unsubscribe(
    *, subscriber: WebhookSubscriber, actor=None, actor_label: str = "", now=None
) -> bool:
    """Stop a webhook (its `meta.unsubscribe` link, the manage page, staff).
    Safe to run twice. Audited."""
    now = now or timezone.now()
    if not WebhookSubscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now):
        return False
    deliveries_give_up(subscriber_id=subscriber.pk, reason="not sent: the subscriber unsubscribed")
    audit.record(actor=actor, actor_label=actor_label, action="status.webhook.unsubscribed", target=subscriber)
    subscriber.refresh_from_db()
    return True


@transaction.atomic
def webhook_subscriber_enable(*, subscriber: WebhookSubscriber, actor=None) -> bool:
    """Re-enable a disabled webhook (its owner, or staff): the failure count
    starts again. Audited."""
    if not WebhookSubscriber.objects.filter(pk=subscriber.pk, disabled_at__isnull=False).update(
        disabled_at=None, consecutive_failures=0, failing_since=None
    ):
        return False
    audit.record(actor=actor, action="status.webhook.enabled", target=subscriber)
    subscriber.refresh_from_db()
    return True


@transaction.atomic
def webhook_secret_rotate(*, subscriber: WebhookSubscriber, actor=None) -> str:
    """A new signing secret (the old one stops at once); returned to show once. Audited."""
    secret = webhook_secret()
    WebhookSubscriber.objects.filter(pk=subscriber.pk).update(secret=secret)
    audit.record(actor=actor, action="status.webhook.secret-rotated", target=subscriber)
    subscriber.secret = secret
    return secret


def confirmation_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the confirmation link, made when sent; dropped once confirmed."""
    subscriber = WebhookSubscriber.objects.filter(pk=email.about_id).first()
    if subscriber is None:
        raise kinds.Drop("the webhook subscriber was deleted")
    if subscriber.confirmed_at is not None:
        raise kinds.Drop("the webhook is already confirmed")
    return kinds.Prepared(
        to=subscriber.email,
        context={
            "subscriber": subscriber,
            "confirm_url": subscriptions.url(
                "status:webhook_confirm", subscriptions.token(subscriber, salt=subscriptions.WEBHOOK_CONFIRM_SALT)
            ),
            "status_url": subscriptions.url("status:page"),
        },
    )


def disabled_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the "your webhook was disabled" email, with its manage
    link made when sent; dropped if it was re-enabled or removed meanwhile."""
    subscriber = WebhookSubscriber.objects.filter(pk=email.about_id).first()
    if subscriber is None or subscriber.disabled_at is None or subscriber.unsubscribed_at is not None:
        raise kinds.Drop("the webhook was re-enabled or removed")
    last = (
        subscriber.deliveries.exclude(last_error="")
        .exclude(last_error__startswith="not sent")
        .order_by("-id")
        .values_list("last_error", flat=True)
        .first()
    )
    return kinds.Prepared(
        to=subscriber.email,
        context={
            "subscriber": subscriber,
            "last_error": last or "",
            "manage_url": subscriptions.manage_url(subscriber),
        },
    )


def webhook_subscribers_disabled_count() -> int:
    """Needs attention: webhooks disabled after repeated failures, still subscribed."""
    return WebhookSubscriber.objects.filter(disabled_at__isnull=False, unsubscribed_at__isnull=True).count()
