"""Sending templated email: every message is a subject / text / HTML triple
under `templates/emails/<name>/`, rendered with the same context.

Every message names its purpose. The right-to-object and marketing-consent
policy (`compliance.objections.may_send`) is applied here, in the one
function every sender calls, so a marketing email to a person who objected
or unsubscribed is never sent, whoever sends it.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from compliance import marketing, objections
from compliance.security import pii_hash

logger = logging.getLogger(__name__)

PURPOSES = objections.EMAIL_PURPOSES  # "transactional" | "marketing"


def render(name: str, context: dict) -> tuple[str, str, str]:
    context = {"base_url": settings.LEVQOR_BASE_URL, "support_email": settings.LEVQOR_SUPPORT_EMAIL, **context}
    subject = " ".join(render_to_string(f"emails/{name}/subject.txt", context).split())
    text = render_to_string(f"emails/{name}/body.txt", context)
    html = render_to_string(f"emails/{name}/body.html", context)
    return subject, text, html


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
    subject, text, html = render(name, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    message.tags = [name, *(tags or [])]  # anymail: tags reach the provider and its test backend
    message.send()
    return True
