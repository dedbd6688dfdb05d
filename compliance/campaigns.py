"""Marketing sends: one campaign email to every confirmed subscriber of a
topic, each queued in the outbox once per (subscription, campaign), so a
re-run campaign sends nobody anything twice. The outbox applies the
consent policy at delivery: anyone who objected or unsubscribed meanwhile
is skipped."""

from django.db import transaction

from . import marketing
from .models import MarketingSubscription
from .outbox.services import email_queue


@transaction.atomic
def marketing_send(*, template: str, topic: str, context: dict | None = None, campaign: str = "") -> int:
    """Queue `template` for every confirmed subscriber of `topic`; returns
    how many were newly queued. `campaign` (default: the template's name)
    tells two sends of one template apart."""
    if topic not in marketing.TOPIC_CODES:
        raise ValueError(f"Unknown marketing topic {topic!r}.")
    queued = 0
    recipients = MarketingSubscription.objects.filter(status=MarketingSubscription.Status.CONFIRMED, **{topic: True})
    for subscription in recipients.iterator():
        email = email_queue(
            kind="compliance.marketing",
            about=subscription,
            stage=campaign or template,
            template=template,
            to=subscription.email,
            context=context or {},
            purpose="marketing",
            topic=topic,
            tags=["marketing", topic],
        )
        queued += email is not None
    return queued
