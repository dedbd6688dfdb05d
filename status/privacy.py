"""What the status app holds about a person (an incident-email
subscription, a webhook subscription they own) and how its data ages (raw snapshots, through compliance's
retention job). Listed in settings.LEVQOR_PRIVACY_PROVIDERS."""

from django.db import transaction

from compliance import audit
from compliance.dsar import providers

from .models import Subscriber, WebhookSubscriber
from .services import emails_sent_to, snapshots_prune


def _iso(moment):
    return moment and moment.isoformat()


def _components(subscriber) -> list[str] | str:
    return sorted(subscriber.components.values_list("name", flat=True)) or "all"


def webhook_rows(email: str, *, history: bool = False):
    """Webhook subscriptions owned by an address (never the signing secret)."""
    for webhook in WebhookSubscriber.objects.filter(email__iexact=email).prefetch_related("components"):
        row = {
            "kind": "webhook",
            "endpoint": webhook.endpoint,
            "owner_email": webhook.email,
            "components": _components(webhook),
            "created_at": _iso(webhook.created_at),
            "confirmed_at": _iso(webhook.confirmed_at),
            "unsubscribed_at": _iso(webhook.unsubscribed_at),
            "disabled_at": _iso(webhook.disabled_at),
            "deliveries_sent": webhook.deliveries.filter(status="sent").count(),
        }
        if history:
            row["history"] = providers.audit_history(webhook)
        yield row


def subscription_rows(*, user):
    """The person's incident-email subscription and the webhooks they own:
    `status.json` in a data export."""
    for subscriber in Subscriber.objects.filter(email__iexact=user.email):
        yield {
            "email": subscriber.email,
            "components": _components(subscriber),
            "created_at": subscriber.created_at.isoformat(),
            "confirmed_at": subscriber.confirmed_at and subscriber.confirmed_at.isoformat(),
            "unsubscribed_at": subscriber.unsubscribed_at and subscriber.unsubscribed_at.isoformat(),
            "emails_sent": emails_sent_to(subscriber),
        }
    yield from webhook_rows(user.email)


@transaction.atomic
def erase_user(*, user, actor) -> dict:
    """Delete the person's subscription. Safe to run twice. (The emails sent
    to the address are the outbox's: compliance's erasure blanks them, and
    any still queued is dropped at delivery, the subscriber being gone.)"""
    subscribers = list(Subscriber.objects.filter(email__iexact=user.email))
    for subscriber in subscribers:
        audit.record(actor=actor, action="status.subscriber.erased", target=subscriber)
    deleted = Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).delete()[0]
    result = {"status_subscribers": deleted}
    if webhooks := _erase_webhooks(user.email, actor):
        result["status_webhook_subscribers"] = webhooks
    return result


def _erase_webhooks(email: str, actor) -> int:
    """Delete the webhooks an address owns, with their deliveries."""
    webhooks = list(WebhookSubscriber.objects.filter(email__iexact=email))
    for webhook in webhooks:
        audit.record(actor=actor, action="status.webhook.erased", target=webhook)
    WebhookSubscriber.objects.filter(pk__in=[w.pk for w in webhooks]).delete()
    return len(webhooks)


def subscription_rows_for_address(*, email: str):
    """An address's incident-email subscription, with its history, for the
    export of someone without an account (the privacy centre)."""
    for subscriber in Subscriber.objects.filter(email__iexact=email):
        yield {
            "email": subscriber.email,
            "created_at": subscriber.created_at,
            "confirmed_at": subscriber.confirmed_at,
            "unsubscribed_at": subscriber.unsubscribed_at,
            "components": _components(subscriber),
            "history": providers.audit_history(subscriber),
        }
    yield from webhook_rows(email, history=True)


@transaction.atomic
def erase_address(*, email: str, actor) -> dict:
    """Delete an address's subscription (and what hangs on it). Safe to run twice."""
    subscribers = list(Subscriber.objects.filter(email__iexact=email))
    for subscriber in subscribers:
        audit.record(actor=actor, action="status.subscriber.erased", target=subscriber)
    deleted = Subscriber.objects.filter(pk__in=[s.pk for s in subscribers]).delete()[0]
    return {
        "status_subscribers": len(subscribers),
        "status_rows_deleted": deleted,
        "status_webhook_subscribers": _erase_webhooks(email, actor),
    }


def prune_unconfirmed(*, cutoff, dry_run: bool) -> int:
    """Delete subscriptions whose confirmation link went unused since `cutoff`
    (with any notification rows). Safe to run twice."""
    stale = Subscriber.objects.filter(confirmed_at__isnull=True, created_at__lt=cutoff)
    stale_webhooks = WebhookSubscriber.objects.filter(confirmed_at__isnull=True, created_at__lt=cutoff)
    if dry_run:
        return stale.count() + stale_webhooks.count()
    return stale.delete()[0] + stale_webhooks.delete()[0]


provider = providers.Provider(
    name="status",
    files={
        "status.json": providers.ExportFile(
            "Your subscription to status-page incident emails, if any, and how many were sent"
            " (the emails themselves are listed with every other email to you), and any status"
            " webhooks you own.",
            rows=subscription_rows,
        )
    },
    erase=erase_user,
    address_files={
        "status.json": providers.ExportFile(
            "Your subscription to status-page incident emails, if any, and any status webhooks you own,"
            " with their history.",
            rows=subscription_rows_for_address,
        )
    },
    erase_address=erase_address,
    retention={"status_raw_snapshots": snapshots_prune, "status_unconfirmed_subscribers": prune_unconfirmed},
    covers=("status.Subscriber", "status.WebhookSubscriber"),
    prunes={
        "status_raw_snapshots": ("status.Snapshot",),
        "status_unconfirmed_subscribers": ("status.Subscriber", "status.WebhookSubscriber"),
    },
    processing=(
        providers.Processing(
            activity="Status page subscriptions and on-call alerts",
            subjects="Status subscribers, on-call staff",
            data="Email address, chosen components, confirmation and unsubscribe times, emails sent; for"
            " webhooks the endpoint URL and its owner's address, delivery outcomes",
            purpose="Tell the people who asked about incidents and maintenance",
            legal_basis="Consent (art. 6(1)(a)), double opt-in; staff: legitimate interests (art. 6(1)(f))",
            retention="Until unsubscribed",
            retention_kind="status_unconfirmed_subscribers",
            recipients=("Resend (email delivery)", "Cloud hosting provider"),
        ),
    ),
)
