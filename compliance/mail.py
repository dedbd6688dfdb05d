"""The email policy: may this person be sent this message?

Every message names its purpose. The right-to-object and marketing-consent
policy (`policy.may_send`) is applied here, so a marketing email to a
person who objected or unsubscribed is never sent, whoever queued it. Only
the outbox (`compliance.outbox`) calls `send`: apps queue their emails
there. Rendering and transport are `levqor.lib.mail`.
"""

import logging

from levqor.lib import mail
from levqor.lib.security import pii_hash

from . import marketing_links, policy

logger = logging.getLogger(__name__)

PURPOSES = policy.EMAIL_PURPOSES  # "transactional" | "marketing"


def send(
    name: str,
    *,
    to: str,
    context: dict,
    purpose: str,
    topic: str | None = None,
    tags: list[str] | None = None,
    headers: dict | None = None,
) -> str | None:
    """Render and send one message now, if the recipient may receive it;
    returns the subject as sent, or None when the policy refused it.

    `purpose` is "transactional" (always sent: sign-in links, receipts,
    billing, security and legal notices, answers to the person's request) or
    "marketing" (sent only to a confirmed subscriber of `topic` who has not
    objected; gets unsubscribe links and `List-Unsubscribe` headers). A
    backend error is raised to the caller (the outbox retries it)."""
    if not policy.may_send(to, purpose, topic=topic):
        logger.info("email %s not sent to %s: no consent or objected to %s", name, pii_hash(to), purpose)
        return None
    headers = dict(headers or {})
    if purpose == "marketing":
        context = {**context, **marketing_links.marketing_links(to)}
        headers.update(marketing_links.list_unsubscribe_headers(to))
    return mail.send(name, to=to, context=context, tags=tags, headers=headers)
