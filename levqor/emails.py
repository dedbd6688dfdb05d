"""Sending templated email: every message is a subject / text / HTML triple
under `templates/emails/<name>/`, rendered with the same context.

A message the email backend refuses (or cannot reach) is recorded as an
`EmailFailure` before the error is raised to the caller, so staff see it in
"needs attention" whoever sent it; a later successful send of the same
message to the same person closes it.

Every message names its purpose. The right-to-object and marketing-consent
policy (`compliance.objections.may_send`) is applied here, in the one
function every sender calls, so a marketing email to a person who objected
or unsubscribed is never sent, whoever sends it.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from compliance import marketing, objections
from compliance.security import pii_hash

from . import correlation

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
    try:
        message.send()
    except Exception as exc:
        email_failure_record(name=name, to=to, purpose=purpose, error=exc)
        raise
    email_failures_resolve(name=name, to=to, resolution="sent later")
    return True


def email_failure_record(*, name: str, to: str, purpose: str, error: BaseException):
    """Keep one failed send for staff (and log it). Written in the caller's
    transaction: a sender that rolls back its own work on failure retries the
    whole of it, and its retry's outcome is what counts."""
    from .models import EmailFailure

    logger.error("email %s to %s failed: %s: %s", name, pii_hash(to), type(error).__name__, error)
    return EmailFailure.objects.create(
        template=name,
        to=to,
        purpose=purpose,
        error=f"{type(error).__name__}: {error}"[:5000],
        correlation_id=correlation.get()[:64],
    )


def email_failures_resolve(*, name: str, to: str, resolution: str) -> int:
    """Close the open failures of this message to this person (it has now gone out)."""
    from .models import EmailFailure

    return EmailFailure.objects.filter(template=name, to=to, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution[:200]
    )


@transaction.atomic
def email_failures_mark_handled(*, ids: list[int], actor) -> int:
    """Staff close open failures by hand. Audited. Safe to run twice (closed ones are skipped)."""
    from compliance import audit

    from .models import EmailFailure

    open_ones = list(EmailFailure.objects.select_for_update().filter(pk__in=ids, resolved_at__isnull=True))
    for failure in open_ones:
        failure.resolved_at = timezone.now()
        failure.resolution = f"marked handled by {actor.email}"[:200]
        failure.save(update_fields=["resolved_at", "resolution"])
        audit.record(
            actor=actor, action="email.failure_handled", target=failure, details={"template": failure.template}
        )
    return len(open_ones)


def email_failure_open_count() -> int:
    from .models import EmailFailure

    return EmailFailure.objects.filter(resolved_at__isnull=True).count()
