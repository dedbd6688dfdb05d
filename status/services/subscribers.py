"""Subscribers: double opt-in by email, one-click unsubscribe, the components
each chose (none = all), and incident and maintenance notices (announced,
one-hour reminder, started, completed), each queued once per subscriber on
the one outbox. The same news goes to webhook subscribers (services/webhooks.py)."""

from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from compliance import audit
from compliance.models import OutboundEmail
from compliance.outbox import kinds
from compliance.outbox.services import about_key, email_queue, emails_queue_many

from ..models import IncidentUpdate, Maintenance, MaintenanceStatus, MaintenanceUpdate, Subscriber
from . import subscriptions, webhooks
from .subscriptions import UNSUBSCRIBE_SALT, unsubscribe_url

CONFIRM_SALT = "status.subscriber.confirm"
CONFIRM_MAX_AGE = timedelta(days=7)
RESEND_AFTER = timedelta(minutes=10)
REMINDER_AHEAD = timedelta(hours=1)


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


@transaction.atomic
def subscriber_subscribe(*, email: str, components=None, now=None) -> Subscriber:
    """Ask for incident emails about `components` (None or empty: all):
    queues a confirmation link (sent after commit, by the outbox). Says
    nothing new to an address that is already subscribed (its choice is
    changed only from its own manage link), and sends at most one
    confirmation per address every 10 minutes."""
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
    subscriber.components.set(list(components or []))
    _confirmation_queue(subscriber)
    return subscriber


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
def subscriber_remove(*, subscriber: Subscriber, actor, actor_label: str = "") -> bool:
    """Staff unsubscribe an address. Safe to run twice. Audited."""
    if not Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now()
    ):
        return False
    audit.record(actor=actor, actor_label=actor_label, action="status.subscriber.unsubscribed", target=subscriber)
    subscriber.refresh_from_db()
    return True


# --- Emails, through the one outbox (compliance.outbox) ---------------------------------
#
# Each email is one `compliance.OutboundEmail`, unique per (kind, about,
# stage): a subscriber's notice is about the update, its stage names the
# subscriber; a confirmation is about the subscriber, its stage is the
# moment it was asked for. Delivery, retries and failures are the outbox's;
# the hooks below, run at delivery, drop an email whose news no longer holds.

INCIDENT_KIND = "status.incident-update"
MAINTENANCE_KIND = "status.maintenance"
REMINDER_KIND = "status.maintenance-reminder"
CONFIRM_KIND = "status.subscribe-confirm"
NOTICE_KINDS = (INCIDENT_KIND, MAINTENANCE_KIND, REMINDER_KIND)
TAGS = ["status"]


def notice_stage(subscriber_id: int) -> str:
    """The outbox stage of one subscriber's copy of a notice."""
    return f"subscriber-{subscriber_id}"


def confirm_stage(subscriber: Subscriber) -> str:
    """The outbox stage of one requested confirmation: each request (at most
    one per RESEND_AFTER) is emailed once."""
    return subscriber.confirm_sent_at.isoformat()


_url = subscriptions.url


def _confirmation_queue(subscriber: Subscriber) -> None:
    email_queue(
        kind=CONFIRM_KIND,
        about=subscriber,
        stage=confirm_stage(subscriber),
        template="status-subscribe-confirm",
        to=subscriber.email,
        # The link is made at delivery (confirmation_prepare): no token is stored.
        purpose="transactional",  # the address asked for it, on our own double opt-in
        requested=True,  # asked for just now: sent even to a suppressed address
        tags=TAGS,
    )


def confirmation_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the confirmation link, made when sent; dropped once the
    address is confirmed (or the subscriber was erased)."""
    subscriber = Subscriber.objects.filter(pk=email.about_id).first()
    if subscriber is None:
        raise kinds.Drop("the subscriber was deleted")
    if subscriber.confirmed_at is not None:
        raise kinds.Drop("the address is already confirmed")
    return kinds.Prepared(
        to=subscriber.email,
        context={
            "confirm_url": _url("status:confirm", confirm_token(subscriber)),
            "status_url": _url("status:page"),
        },
    )


def _recipients(created_at, component_ids=()):
    """Who is sent a notice: confirmed before it was posted, not
    unsubscribed, and wanting news of its components (all, or one of them;
    a notice naming no component goes to everyone)."""
    return (
        Subscriber.objects.filter(
            confirmed_at__isnull=False, confirmed_at__lte=created_at, unsubscribed_at__isnull=True
        )
        .filter(subscriptions.wants(Subscriber, component_ids))
        .order_by("pk")
    )


def _batch_lists(subscribers, size: int = 500):
    """Batches of subscribers, each read whole before any is queued: no
    cursor stays open while the outbox hands emails to the queue (which may
    run them inline and close the connection)."""
    last = 0
    while batch := list(subscribers.filter(pk__gt=last)[:size]):
        yield batch
        last = batch[-1].pk


def _fan_out(*, kind: str, about, template: str, context: dict, since, component_ids) -> int:
    """Queue one email of `kind` about `about` to each recipient (confirmed
    by `since`, wanting `component_ids`) who has none yet (a re-run skips
    them in the query, on the outbox's unique index). Returns how many were queued."""
    about_type, about_id = about_key(about)
    queued_before = OutboundEmail.objects.filter(
        kind=kind,
        about_type=about_type,
        about_id=about_id,
        stage=Concat(Value("subscriber-"), Cast(OuterRef("pk"), CharField())),
    )
    pending = _recipients(since, component_ids).exclude(Exists(queued_before))
    queued = 0
    for batch in _batch_lists(pending):
        emails = []
        for subscriber in batch:
            link = unsubscribe_url(subscriber)
            emails.append(
                {
                    "about": about,
                    "stage": notice_stage(subscriber.pk),
                    "template": template,
                    "to": subscriber.email,
                    # The manage link is made at delivery (the prepare hooks): not stored.
                    "context": {**context, "unsubscribe_url": link},
                    # Service notices the person asked for (double opt-in), each
                    # with its own one-click unsubscribe: not marketing.
                    "purpose": "transactional",
                    "tags": TAGS,
                    "headers": {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                }
            )
        # One insert and one delivery task per batch of subscribers.
        with transaction.atomic():
            queued += len(emails_queue_many(kind=kind, emails=emails))
    return queued


def notifications_send(*, update_id: int) -> int:
    """Queue one incident update's email to every subscriber who was
    confirmed when it was posted (task body, after the update's commit).
    Each (update, subscriber) is one outbox email, queued once, so a second
    run, a retry or a second worker sends nothing twice. Returns emails queued."""
    update = IncidentUpdate.objects.select_related("incident").filter(pk=update_id).first()
    if update is None or not update.deliver_notifications or update.incident.draft:
        return 0
    queued = _fan_out(
        kind=INCIDENT_KIND,
        about=update,
        template="status-incident-update",
        context={"incident_url": _url("status:incident", update.incident.public_id)},
        since=update.created_at,
        component_ids=_incident_components(update.incident),
    )
    webhooks.incident_update_publish(update=update)
    return queued


def _incident_components(incident) -> list[int]:
    return list(incident.affected.values_list("component_id", flat=True))


def maintenance_notifications_send(*, update_id: int) -> int:
    """Queue a maintenance notice (announced, started or completed) to every
    subscriber confirmed when it was posted who wants its components; each
    queued once, as above. Webhook subscribers get it too."""
    update = MaintenanceUpdate.objects.select_related("maintenance").filter(pk=update_id).first()
    if update is None or not update.deliver_notifications:
        return 0
    queued = _fan_out(
        kind=MAINTENANCE_KIND,
        about=update,
        template="status-maintenance",
        context={"maintenance_url": _url("status:incident", update.maintenance.public_id)},
        since=update.created_at,
        component_ids=_maintenance_components(update.maintenance),
    )
    webhooks.maintenance_update_publish(update=update)
    return queued


def _maintenance_components(maintenance: Maintenance) -> list[int]:
    return list(maintenance.components.values_list("pk", flat=True))


def maintenance_reminder_send(*, maintenance_id: int) -> int:
    """Queue a claimed maintenance's one-hour reminder (email and webhooks),
    once per subscriber. Safe to run again (the sweep re-runs it)."""
    maintenance = Maintenance.objects.filter(pk=maintenance_id, reminded_at__isnull=False).first()
    if maintenance is None or maintenance.status != MaintenanceStatus.SCHEDULED:
        return 0
    queued = _fan_out(
        kind=REMINDER_KIND,
        about=maintenance,
        template="status-maintenance",
        context={"maintenance_url": _url("status:incident", maintenance.public_id)},
        since=maintenance.reminded_at,
        component_ids=_maintenance_components(maintenance),
    )
    webhooks.maintenance_reminder_publish(maintenance=maintenance)
    return queued


def maintenance_reminders_send(*, now=None) -> int:
    """Every minute: claim each scheduled maintenance starting within the
    hour that was not reminded (a conditional UPDATE, so two workers remind
    once) and queue its reminder. A maintenance announced less than an hour
    ahead gets none (the announcement was the reminder). Returns how many
    maintenances this call reminded."""
    now = now or timezone.now()
    due = list(
        Maintenance.objects.filter(
            status=MaintenanceStatus.SCHEDULED,
            reminded_at__isnull=True,
            scheduled_for__gt=now,
            scheduled_for__lte=now + REMINDER_AHEAD,
            created_at__lte=F("scheduled_for") - REMINDER_AHEAD,
        ).values_list("pk", flat=True)
    )
    reminded = 0
    for pk in due:
        if Maintenance.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
            reminded += 1
            maintenance_reminder_send(maintenance_id=pk)
    return reminded


def _subscriber_still_wants(email, created_at, component_ids=()) -> Subscriber:
    subscriber_id = email.stage.removeprefix("subscriber-")
    recipients = _recipients(created_at, component_ids)
    subscriber = recipients.filter(pk=subscriber_id).first() if subscriber_id.isdigit() else None
    if subscriber is None:
        raise kinds.Drop("the subscriber unsubscribed or was removed")
    return subscriber


def incident_notice_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the update and its incident, live; dropped if the update
    is gone or the subscriber unsubscribed meanwhile."""
    update = IncidentUpdate.objects.select_related("incident").filter(pk=email.about_id).first()
    if update is None:
        raise kinds.Drop("the incident update was deleted")
    subscriber = _subscriber_still_wants(email, update.created_at, _incident_components(update.incident))
    return kinds.Prepared(
        to=subscriber.email,
        context={"incident": update.incident, "update": update, "manage_url": subscriptions.manage_url(subscriber)},
    )


def maintenance_notice_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the maintenance notice, live (as for incidents)."""
    update = MaintenanceUpdate.objects.select_related("maintenance").filter(pk=email.about_id).first()
    if update is None:
        raise kinds.Drop("the maintenance notice was deleted")
    maintenance = update.maintenance
    subscriber = _subscriber_still_wants(email, update.created_at, _maintenance_components(maintenance))
    return kinds.Prepared(
        to=subscriber.email,
        context={
            "maintenance": maintenance,
            "update": update,
            "stage": _maintenance_stage(update),
            "components": list(maintenance.components.all()),
            "manage_url": subscriptions.manage_url(subscriber),
        },
    )


# The maintenance email's wording for each notice (templates/emails/status-maintenance).
MAINTENANCE_STAGE = {
    MaintenanceStatus.SCHEDULED: "scheduled",
    MaintenanceStatus.IN_PROGRESS: "started",
    MaintenanceStatus.COMPLETED: "completed",
}


def _maintenance_stage(update: MaintenanceUpdate) -> str:
    """ "update" for a progress note (an update with the status an earlier
    one already had), else the wording of the move it announces."""
    earlier = MaintenanceUpdate.objects.filter(maintenance_id=update.maintenance_id, pk__lt=update.pk)
    if earlier.filter(status=update.status).exists():
        return "update"
    return MAINTENANCE_STAGE.get(update.status, "scheduled")


def maintenance_reminder_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the reminder, live; dropped if the maintenance started
    or was completed meanwhile."""
    maintenance = Maintenance.objects.filter(pk=email.about_id).first()
    if maintenance is None:
        raise kinds.Drop("the maintenance was deleted")
    if maintenance.status != MaintenanceStatus.SCHEDULED:
        raise kinds.Drop("the maintenance is no longer scheduled")
    subscriber = _subscriber_still_wants(email, maintenance.reminded_at, _maintenance_components(maintenance))
    return kinds.Prepared(
        to=subscriber.email,
        context={
            "maintenance": maintenance,
            "update": None,
            "stage": "reminder",
            "components": list(maintenance.components.all()),
            "manage_url": subscriptions.manage_url(subscriber),
        },
    )


def notifications_sweep(*, now=None, within: timedelta = timedelta(hours=6)) -> int:
    """Every minute: queue what a lost fan-out task did not (notices of the
    last `within`). Each email is still queued once; sending, retrying and
    failures are the outbox's. Returns emails queued."""
    now = now or timezone.now()
    queued = 0
    for pk in IncidentUpdate.objects.filter(
        deliver_notifications=True, created_at__gte=now - within, incident__draft=False
    ).values_list("pk", flat=True):
        queued += notifications_send(update_id=pk)
    for pk in MaintenanceUpdate.objects.filter(deliver_notifications=True, created_at__gte=now - within).values_list(
        "pk", flat=True
    ):
        queued += maintenance_notifications_send(update_id=pk)
    for pk in Maintenance.objects.filter(reminded_at__gte=now - within).values_list("pk", flat=True):
        queued += maintenance_reminder_send(maintenance_id=pk)
    return queued


def emails_sent_to(subscriber: Subscriber) -> int:
    """How many notices this subscriber was sent (admin, data export)."""
    return OutboundEmail.objects.filter(
        kind__in=NOTICE_KINDS, stage=notice_stage(subscriber.pk), status=OutboundEmail.Status.SENT
    ).count()
