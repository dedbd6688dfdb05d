"""django-q2 entry points: thin wrappers around the services."""

from django.utils import timezone

from . import intake, selectors, services


def process_stripe_event(event_pk: int) -> str:
    """Process one stored Stripe event. Raises on failure (the queue retries);
    safe to run twice."""
    return intake.event_process(event_pk=event_pk)


def reprocess_stripe_events(event_pks: list[int]) -> dict:
    """Staff-requested reprocessing of many events, whatever their attempt
    count. Returns counts by outcome. Safe to run twice."""
    counts: dict[str, int] = {}
    for pk in event_pks:
        status = intake.event_reprocess(event_pk=pk)
        counts[status] = counts.get(status, 0) + 1
    return counts


def retry_stripe_events() -> int:
    """Scheduled: re-enqueue events the queue lost or that failed with
    attempts left (with back-off), and apply unmatched events whose customer
    is linked by now. Returns how many were re-enqueued. Safe to run twice."""
    intake.events_fail_stuck()
    now = timezone.now()
    ids = selectors.event_ids_to_retry(now=now, max_attempts=intake.max_attempts(), stale_after=intake.stale_after())
    for pk in ids:
        intake.enqueue(pk)
    intake.events_retry_unmatched(now=now)
    return len(ids)


def apply_unmatched_events(customer_id: str) -> dict:
    """Apply the events kept unmatched for a Stripe customer just linked to an
    account. Returns counts by outcome. Safe to run twice."""
    return intake.events_apply_unmatched(customer_id=customer_id)


def advance_cases(case_ids: list[int]) -> dict:
    """Advance just-opened cases now (their day-0 email) with the sweep's
    claim. Returns {case id: stage}. Safe to run twice."""
    return services.cases_advance(case_ids=case_ids, now=timezone.now())


def retry_emails() -> int:
    """Scheduled: send dunning emails whose retry back-off has run out or
    whose worker vanished. Returns how many were sent. Safe to run twice."""
    return services.notices_retry_due(now=timezone.now())


def deliver_notices(notice_ids: list[int]) -> int:
    """Send claimed dunning emails; each is sent once whoever else tries.
    Returns how many this run sent. Safe to run twice."""
    return sum(1 for pk in notice_ids if services.notice_deliver(notice_id=pk))


def run_dunning() -> str:
    """Scheduled: the dunning sweep. Safe to run twice or on several workers."""
    return services.dunning_run().describe(dry_run=False)
