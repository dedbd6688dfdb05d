"""What the status app holds about a person (an incident-email
subscription) and how its data ages (raw snapshots, through compliance's
retention job). Listed in settings.LEVQOR_PRIVACY_PROVIDERS."""

from django.db import transaction

from compliance import audit
from compliance.dsar import providers

from .models import Notification, Subscriber
from .services import snapshots_prune


def subscription_rows(*, user):
    """The person's incident-email subscription: `status.json` in a data export."""
    for subscriber in Subscriber.objects.filter(email__iexact=user.email):
        yield {
            "email": subscriber.email,
            "created_at": subscriber.created_at.isoformat(),
            "confirmed_at": subscriber.confirmed_at and subscriber.confirmed_at.isoformat(),
            "unsubscribed_at": subscriber.unsubscribed_at and subscriber.unsubscribed_at.isoformat(),
            "emails_sent": Notification.objects.filter(subscriber=subscriber, sent_at__isnull=False).count(),
        }


@transaction.atomic
def erase_user(*, user, actor) -> dict:
    """Delete the person's subscription and its sent-email records. Safe to run twice."""
    subscribers = list(Subscriber.objects.filter(email__iexact=user.email))
    for subscriber in subscribers:
        audit.record(actor=actor, action="status.subscriber.erased", target=subscriber)
    notifications = Notification.objects.filter(subscriber__in=subscribers).delete()[0]
    deleted = Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).delete()[0] - notifications
    return {"status_subscribers": deleted, "status_notifications": notifications}


def prune_unconfirmed(*, cutoff, dry_run: bool) -> int:
    """Delete subscriptions whose confirmation link went unused since `cutoff`
    (with any notification rows). Safe to run twice."""
    stale = Subscriber.objects.filter(confirmed_at__isnull=True, created_at__lt=cutoff)
    if dry_run:
        return stale.count()
    return stale.delete()[0]


provider = providers.Provider(
    name="status",
    files={
        "status.json": providers.ExportFile(
            "Your subscription to status-page incident emails, if any, and how many were sent.",
            rows=subscription_rows,
        )
    },
    erase=erase_user,
    retention={"status_raw_snapshots": snapshots_prune, "status_unconfirmed_subscribers": prune_unconfirmed},
    covers=("status.Subscriber", "status.Notification"),
    prunes={
        "status_raw_snapshots": ("status.Snapshot",),
        "status_unconfirmed_subscribers": ("status.Subscriber", "status.Notification"),
    },
    processing=(
        providers.Processing(
            activity="Status page subscriptions and on-call alerts",
            subjects="Status subscribers, on-call staff",
            data="Email address, confirmation and unsubscribe times, emails sent",
            purpose="Tell the people who asked about incidents and maintenance",
            legal_basis="Consent (art. 6(1)(a)), double opt-in; staff: legitimate interests (art. 6(1)(f))",
            retention="Until unsubscribed",
            retention_kind="status_unconfirmed_subscribers",
            recipients=("Resend (email delivery)", "Cloud hosting provider"),
        ),
    ),
)
