"""The outbox's scheduled entry point (`levqor/schedules.py`)."""

from django.utils import timezone

from . import services


def emails_retry_due() -> int:
    """Every minute: deliver due emails. Safe to run twice and on two workers."""
    return services.emails_retry_due(now=timezone.now())
