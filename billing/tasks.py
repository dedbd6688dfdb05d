"""django-q2 entry points: thin wrappers, each named after the service it
calls. The services enqueue them by reference; the scheduled ones are listed
in `levqor/schedules.py`."""

from django.utils import timezone

from . import dunning, intake, notices


def event_process(event_pk: int) -> str:
    """Process one stored Stripe event. Raises on failure (the queue retries);
    safe to run twice."""
    return intake.event_process(event_pk=event_pk)


def reprocess_stripe_events(event_pks: list[int]) -> dict:
    """Staff-requested reprocessing of many events (`intake.events_reprocess`),
    whatever their attempt count. Returns counts by outcome. Safe to run twice."""
    return intake.events_reprocess(event_pks=event_pks)


def events_retry() -> int:
    """Scheduled: re-enqueue events the queue lost or that failed with
    attempts left (with back-off), and apply unmatched events whose customer
    is linked by now. Returns how many were re-enqueued. Safe to run twice."""
    return intake.events_retry(now=timezone.now())


def events_apply_unmatched(customer_id: str) -> dict:
    """Apply the events kept unmatched for a Stripe customer just linked to an
    account. Returns counts by outcome. Safe to run twice."""
    return intake.events_apply_unmatched(customer_id=customer_id)


def cases_advance(case_ids: list[int]) -> dict:
    """Advance just-opened cases now (their day-0 email) with the sweep's
    claim. Returns {case id: stage}. Safe to run twice."""
    return dunning.cases_advance(case_ids=case_ids, now=timezone.now())


def notices_retry_due() -> int:
    """Scheduled: send dunning emails whose retry back-off has run out or
    whose worker vanished. Returns how many were sent. Safe to run twice."""
    return notices.notices_retry_due(now=timezone.now())


def notices_deliver(notice_ids: list[int]) -> int:
    """Send claimed dunning emails; each is sent once whoever else tries.
    Returns how many this run sent. Safe to run twice."""
    return notices.notices_deliver(notice_ids=notice_ids)


def dunning_run() -> str:
    """Scheduled: the dunning sweep. Safe to run twice or on several workers."""
    return dunning.dunning_run().describe(dry_run=False)
