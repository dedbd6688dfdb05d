"""django-q2 entry points: thin wrappers, each named after the service it calls."""

from . import services


def email_deliver(email_id: int) -> bool:
    """Send one queued support email; sends nothing if it went already. Safe to run twice."""
    return services.email_deliver(email_id=email_id)


def sla_credit_apply(request_id: int) -> str | None:
    """Apply an approved SLA credit in Stripe, once. Safe to run twice."""
    return services.sla_credit_apply(request_id=request_id)


def sla_credits_retry() -> int:
    """Every 5 minutes: attempt the SLA credits whose retry is due (backoff
    after a failure). Safe to run twice and on several workers."""
    return services.sla_credits_retry()


def evidence_reminders_send() -> int:
    """Daily: email support about chargebacks whose evidence is due within 3
    days, once per dispute per day. Safe to run twice."""
    return services.evidence_reminders_send()


def emails_sweep() -> int:
    """Re-enqueue support emails the queue lost. Safe to run twice."""
    return services.emails_sweep()
