"""Sending email under the consent policy: the one `send` every app calls.

Every message names its purpose. The right-to-object and marketing-consent
policy (`objections.may_send`) is applied here, so a marketing email to a
person who objected or unsubscribed is never sent, whoever sends it; the
rendering and the transport are levqor.lib.mail.
"""

import logging

from levqor.lib import mail
from levqor.lib.security import pii_hash

from . import marketing, objections
from .models import MarketingSubscription

logger = logging.getLogger(__name__)

PURPOSES = objections.EMAIL_PURPOSES  # "transactional" | "marketing"


def send(
    name: str,
    *,
    to: str,
    context: dict,
    purpose: str,
    topic: str | None = None,
    tags: list[str] | None = None,
    headers: dict | None = None,
) -> bool:
    """Render and send one message now, if the recipient may receive it.

    `purpose` is "transactional" (always sent: sign-in links, receipts,
    billing, security and legal notices, answers to the person's request) or
    "marketing" (sent only to a confirmed subscriber of `topic` who has not
    objected; gets unsubscribe links and `List-Unsubscribe` headers).
    Returns whether it was sent. Callers decide idempotency (claim a row
    first) and call this from `transaction.on_commit` or a task."""
    if not objections.may_send(to, purpose, topic=topic):
        logger.info("email %s not sent to %s: no consent or objected to %s", name, pii_hash(to), purpose)
        return False
    headers = dict(headers or {})
    if purpose == "marketing":
        context = {**context, **marketing.marketing_links(to)}
        headers.update(marketing.list_unsubscribe_headers(to))
    mail.send(name, to=to, context=context, purpose=purpose, tags=tags, headers=headers)
    return True


def marketing_send(*, template: str, topic: str, context: dict | None = None) -> int:
    """Send one marketing email to every confirmed subscriber of `topic`.
    Each send goes through `send(purpose="marketing")`, which skips anyone
    who objected or unsubscribed meanwhile. Returns the count sent."""
    if topic not in marketing.TOPIC_CODES:
        raise ValueError(f"Unknown marketing topic {topic!r}.")
    sent = 0
    recipients = MarketingSubscription.objects.filter(status=MarketingSubscription.Status.CONFIRMED, **{topic: True})
    for subscription in recipients.iterator():
        try:
            if send(template, to=subscription.email, purpose="marketing", topic=topic, context=context or {}):
                sent += 1
        except Exception:  # noqa: S112 - recorded as an EmailFailure; one bad address must not stop the rest
            continue
    return sent
