"""Subscribers: double opt-in by email, one-click unsubscribe, and incident
notifications sent once each."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit, mail

from ..models import IncidentUpdate, MaintenanceStatus, MaintenanceUpdate, Notification, Subscriber

logger = logging.getLogger(__name__)

CONFIRM_SALT = "status.subscriber.confirm"
UNSUBSCRIBE_SALT = "status.subscriber.unsubscribe"  # noqa: S105 - a signing salt, not a secret
CONFIRM_MAX_AGE = timedelta(days=7)
RESEND_AFTER = timedelta(minutes=10)


def confirm_token(subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=CONFIRM_SALT)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "e": subscriber.email}, salt=UNSUBSCRIBE_SALT)


def _from_token(token: str, *, salt: str, max_age: timedelta | None) -> Subscriber | None:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None
    return Subscriber.objects.filter(pk=data.get("s"), email=data.get("e")).first()


def unsubscribe_url(subscriber: Subscriber) -> str:
    return settings.LEVQOR_BASE_URL + reverse("status:unsubscribe", args=[unsubscribe_token(subscriber)])


@transaction.atomic
def subscriber_subscribe(*, email: str, now=None) -> Subscriber:
    """Ask for incident emails: emails a confirmation link (after commit, by
    the queue). Says nothing new to an address that is already subscribed,
    and sends at most one confirmation per address every 10 minutes."""
    now = now or timezone.now()
    email = email.strip().lower()
    subscriber, _ = Subscriber.objects.get_or_create(email=email)
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.is_active:
        return subscriber
    if subscriber.confirm_sent_at and now - subscriber.confirm_sent_at < RESEND_AFTER:
        return subscriber
    if subscriber.unsubscribed_at:
        # Coming back after unsubscribing needs a fresh opt-in.
        subscriber.confirmed_at = subscriber.unsubscribed_at = None
    subscriber.confirm_sent_at = now
    subscriber.save(update_fields=["confirm_sent_at", "confirmed_at", "unsubscribed_at"])
    subscriber_id = subscriber.pk
    transaction.on_commit(lambda: async_task(confirmation_send, subscriber_id=subscriber_id))
    return subscriber


def confirmation_send(*, subscriber_id: int) -> bool:
    """Email the confirmation link (task body). A retry may send it again,
    which is harmless: confirming twice confirms once."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, confirmed_at__isnull=True).first()
    if subscriber is None:
        return False
    mail.send(
        "status-subscribe-confirm",
        to=subscriber.email,
        context={
            "confirm_url": settings.LEVQOR_BASE_URL + reverse("status:confirm", args=[confirm_token(subscriber)]),
            "status_url": settings.LEVQOR_BASE_URL + reverse("status:page"),
        },
        purpose="transactional",  # the address asked for it, on our own double opt-in
        tags=["status"],
    )
    return True


@transaction.atomic
def subscriber_confirm(*, token: str, now=None) -> Subscriber | None:
    """Confirm a subscription from the emailed link (valid 7 days). Safe to
    run twice. Audited (it is a consent record)."""
    subscriber = _from_token(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    if subscriber is None:
        return None
    now = now or timezone.now()
    if Subscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(
        confirmed_at=now, unsubscribed_at=None
    ):
        audit.record(actor=None, action="status.subscriber.confirmed", target=subscriber)
        subscriber.refresh_from_db()
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, token: str, now=None) -> Subscriber | None:
    """One-click unsubscribe (link or RFC 8058 POST). Safe to run twice. Audited."""
    subscriber = _from_token(token, salt=UNSUBSCRIBE_SALT, max_age=None)
    if subscriber is None:
        return None
    now = now or timezone.now()
    if Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now):
        audit.record(actor=None, action="status.subscriber.unsubscribed", target=subscriber)
        subscriber.refresh_from_db()
    return subscriber


@transaction.atomic
def subscriber_remove(*, subscriber: Subscriber, actor) -> bool:
    """Staff unsubscribe an address. Safe to run twice. Audited."""
    if not Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now()
    ):
        return False
    audit.record(actor=actor, action="status.subscriber.unsubscribed", target=subscriber)
    return True


MAX_ATTEMPTS = 5


def _claim(subscriber: Subscriber, about: dict, now) -> Notification | None:
    """Claim one email: insert its unique row, or take back a failed one
    (conditional UPDATE). None when it was sent, is being sent, or gave up."""
    try:
        with transaction.atomic():
            return Notification.objects.create(subscriber=subscriber, attempts=1, **about)
    except IntegrityError:
        pass
    row = Notification.objects.filter(subscriber=subscriber, **about).first()
    if row is None or row.sent_at or row.failed_at is None or row.attempts >= MAX_ATTEMPTS:
        return None
    claimed = Notification.objects.filter(pk=row.pk, sent_at__isnull=True, failed_at=row.failed_at).update(
        failed_at=None, claimed_at=now, attempts=F("attempts") + 1
    )
    return row if claimed else None


def _send_all(*, recipients, about: dict, template: str, context: dict) -> int:
    """Send one notice to each recipient once. A failed send is recorded on
    its row (counted in "needs attention") and fails the task, so the
    queue's retry sends only what is missing. Returns emails sent."""
    sent = failed = 0
    now = timezone.now()
    # Skip, in the query, whoever was sent this (or is being sent it, or
    # gave up): a sweep re-running this costs one query, not one insert each.
    done = Notification.objects.filter(**about).filter(
        Q(sent_at__isnull=False) | Q(failed_at__isnull=True) | Q(attempts__gte=MAX_ATTEMPTS)
    )
    recipients = recipients.exclude(pk__in=done.values("subscriber_id"))
    for subscriber in recipients.iterator(chunk_size=500):
        claim = _claim(subscriber, about, now)
        if claim is None:
            continue
        link = unsubscribe_url(subscriber)
        try:
            mail.send(
                template,
                to=subscriber.email,
                context={**context, "unsubscribe_url": link},
                # Service notices the person asked for (double opt-in), each
                # with its own one-click unsubscribe: not marketing.
                purpose="transactional",
                tags=["status"],
                headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            )
        except Exception as exc:
            logger.warning("status: notification to subscriber %s failed", subscriber.pk, exc_info=True)
            Notification.objects.filter(pk=claim.pk).update(
                failed_at=timezone.now(), error=f"send failed ({type(exc).__name__})"
            )
            failed += 1
            continue
        Notification.objects.filter(pk=claim.pk).update(sent_at=timezone.now(), error="")
        sent += 1
    if failed:
        raise RuntimeError(f"{failed} notification(s) failed; the retry sends only those")
    return sent


def _recipients(created_at):
    return Subscriber.objects.filter(
        confirmed_at__isnull=False, confirmed_at__lte=created_at, unsubscribed_at__isnull=True
    ).order_by("pk")


def notifications_send(*, update_id: int) -> int:
    """Email one incident update to every subscriber who was confirmed when
    it was posted. Each (subscriber, update) is claimed with a unique row
    before sending, so a second run, a retry or a second worker sends nothing
    twice. Returns emails sent."""
    update = IncidentUpdate.objects.select_related("incident").filter(pk=update_id).first()
    if update is None or not update.deliver_notifications or update.incident.draft:
        return 0
    incident_url = settings.LEVQOR_BASE_URL + reverse("status:incident", args=[update.incident.public_id])
    return _send_all(
        recipients=_recipients(update.created_at),
        about={"update": update},
        template="status-incident-update",
        context={"incident": update.incident, "update": update, "incident_url": incident_url},
    )


def maintenance_notifications_send(*, update_id: int) -> int:
    """Email a maintenance notice (announced, or started) to every
    subscriber confirmed when it was posted; each claimed once, as above."""
    update = MaintenanceUpdate.objects.select_related("maintenance").filter(pk=update_id).first()
    if update is None or not update.deliver_notifications:
        return 0
    maintenance = update.maintenance
    url = settings.LEVQOR_BASE_URL + reverse("status:incident", args=[maintenance.public_id])
    return _send_all(
        recipients=_recipients(update.created_at),
        about={"maintenance_update": update},
        template="status-maintenance",
        context={
            "maintenance": maintenance,
            "update": update,
            "started": update.status == MaintenanceStatus.IN_PROGRESS,
            "components": list(maintenance.components.all()),
            "maintenance_url": url,
        },
    )


def notifications_sweep(*, now=None, within: timedelta = timedelta(hours=6)) -> int:
    """Every few minutes: send what the queue lost or what failed earlier,
    for the notices of the last `within`. Each email is still sent once."""
    now = now or timezone.now()
    sent = 0
    jobs = [
        (notifications_send, pk)
        for pk in IncidentUpdate.objects.filter(
            deliver_notifications=True, created_at__gte=now - within, incident__draft=False
        ).values_list("pk", flat=True)
    ] + [
        (maintenance_notifications_send, pk)
        for pk in MaintenanceUpdate.objects.filter(
            deliver_notifications=True, created_at__gte=now - within
        ).values_list("pk", flat=True)
    ]
    for send, pk in jobs:
        try:
            sent += send(update_id=pk)
        except RuntimeError:
            logger.warning("status: some notifications failed again; they stay in needs attention")
    return sent


def notification_failed_count() -> int:
    return Notification.objects.filter(sent_at__isnull=True, failed_at__isnull=False).count()
