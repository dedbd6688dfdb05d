"""Failed sends, kept for staff: a message the email backend refuses (or
cannot reach) is recorded as an `EmailFailure` before the error is raised to
the caller, so staff see it in "needs attention" whoever sent it; a later
successful send of the same message to the same person closes it.

`levqor.lib.mail` announces each outcome with a signal; the receivers here
(connected in `LevqorConfig.ready()`) turn it into rows.
"""

import logging

from django.db import transaction
from django.utils import timezone

from compliance import audit
from levqor.lib import correlation
from levqor.lib.security import pii_hash

from .models import EmailFailure

logger = logging.getLogger(__name__)


def email_failure_record(*, name: str, to: str, purpose: str, error: BaseException) -> EmailFailure:
    """Keep one failed send for staff (and log it). Written in the caller's
    transaction: a sender that rolls back its own work on failure retries the
    whole of it, and its retry's outcome is what counts."""
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
    return EmailFailure.objects.filter(template=name, to=to, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution[:200]
    )


@transaction.atomic
def email_failures_mark_handled(*, ids: list[int], actor) -> int:
    """Staff close open failures by hand. Audited. Safe to run twice (closed ones are skipped)."""
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
    return EmailFailure.objects.filter(resolved_at__isnull=True).count()


def on_email_failed(sender, *, name: str, to: str, purpose: str, error: BaseException, **kwargs) -> None:
    email_failure_record(name=name, to=to, purpose=purpose, error=error)


def on_email_sent(sender, *, name: str, to: str, **kwargs) -> None:
    email_failures_resolve(name=name, to=to, resolution="sent later")
