"""The scheduled django-q2 entry points (`levqor/schedules.py`): thin
wrappers, each named after the service it calls. Work a service queues for later is that service itself, enqueued by
reference with keyword arguments (`async_task(cases_advance,
case_ids=...)`), so no service imports this module and this module
imports no one back."""

from django.utils import timezone

from . import dunning, expiry, intake


def events_retry() -> int:
    """Scheduled: re-enqueue events the queue lost or that failed with
    attempts left (with back-off), and apply unmatched events whose customer
    is linked by now. Returns how many were re-enqueued. Safe to run twice."""
    return intake.events_retry(now=timezone.now())


def dunning_run() -> str:
    """Scheduled: the dunning sweep. Safe to run twice or on several workers."""
    return dunning.dunning_run().describe(dry_run=False)


def cards_expiring_notify() -> int:
    """Scheduled daily: the card-expiry reminders due today, each once."""
    return expiry.cards_expiring_notify(now=timezone.now())
