"""What the status app holds about a person (an incident-email
subscription) and how its data ages (raw snapshots, through compliance's
retention job). Listed in settings.LEVQOR_PRIVACY_PROVIDERS."""

from django.db import transaction

from compliance import audit
from compliance.dsar import providers

from .models import Subscriber
from .services import emails_sent_to, snapshots_prune


def subscription_rows(*, user):
    """The person's incident-email subscription: `status.json` in a data export."""
    for subscriber in Subscriber.objects.filter(email__iexact=user.email):
        yield {
            "email": subscriber.email,
            "created_at": subscriber.created_at.isoformat(),
            "confirmed_at": subscriber.confirmed_at and subscriber.confirmed_at.isoformat(),
            "unsubscribed_at": subscriber.unsubscribed_at and subscriber.unsubscribed_at.isoformat(),
            "emails_sent": emails_sent_to(subscriber),
        }


@transaction.atomic
def erase_user(*, user, actor) -> dict:
    """Delete the person's subscription. Safe to run twice. (The emails sent
    to the address are the outbox's: compliance's erasure blanks them, and
    any still queued is dropped at delivery, the subscriber being gone.)"""
    subscribers = list(Subscriber.objects.filter(email__iexact=user.email))
    for subscriber in subscribers:
        audit.record(actor=actor, action="status.subscriber.erased", target=subscriber)
    deleted = Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).delete()[0]
    return {"status_subscribers": deleted}


def subscription_rows_for_address(*, email: str):
    """An address's incident-email subscription, with its history, for the
    export of someone without an account (the privacy centre)."""
    for subscriber in Subscriber.objects.filter(email__iexact=email):
        yield {
            "email": subscriber.email,
            "created_at": subscriber.created_at,
            "confirmed_at": subscriber.confirmed_at,
            "unsubscribed_at": subscriber.unsubscribed_at,
            "history": providers.audit_history(subscriber),
        }


@transaction.atomic
def erase_address(*, email: str, actor) -> dict:
    """Delete an address's subscription (and what hangs on it). Safe to run twice."""
    subscribers = list(Subscriber.objects.filter(email__iexact=email))
    for subscriber in subscribers:
        audit.record(actor=actor, action="status.subscriber.erased", target=subscriber)
    deleted = Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).delete()[0]
    return {"status_subscribers": len(subscribers), "status_rows_deleted": deleted}


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
            "Your subscription to status-page incident emails, if any, and how many were sent"
            " (the emails themselves are listed with every other email to you).",
            rows=subscription_rows,
        )
    },
    erase=erase_user,
    address_files={
        "status.json": providers.ExportFile(
            "Your subscription to status-page incident emails, if any, and its history.",
            rows=subscription_rows_for_address,
        )
    },
    erase_address=erase_address,
    retention={"status_raw_snapshots": snapshots_prune, "status_unconfirmed_subscribers": prune_unconfirmed},
    covers=("status.Subscriber",),
    prunes={
        "status_raw_snapshots": ("status.Snapshot",),
        "status_unconfirmed_subscribers": ("status.Subscriber",),
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
