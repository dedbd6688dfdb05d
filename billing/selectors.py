"""Billing reads: the named questions views, admin, tasks and commands ask."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from compliance.models import AuditEvent
from levqor.accounts.models import Account

from .models import DunningCase, DunningNotice, EmailLog, StripeEvent


def case_open_for_account(*, account: Account) -> DunningCase | None:
    """The account's pending case, most recent first."""
    return account.dunning_cases.filter(status=DunningCase.Status.PENDING).order_by("-opened_at").first()


def case_ids_due(*, now: datetime, batch_size: int = 1000) -> Iterator[list[int]]:
    """Ids of pending cases whose next stage is due, in batches. One indexed
    query up front (a few MB for a million cases): paging with OFFSET or a
    keyset would re-sort the due set for every page. Cases another worker
    advances meanwhile are re-checked, and skipped, by the service."""
    ids = list(
        DunningCase.objects.filter(status=DunningCase.Status.PENDING, next_action_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), batch_size):
        yield ids[start : start + batch_size]


def case_due_today_count() -> int:
    """Pending cases whose next stage falls due before the end of today
    (the admin index's "needs attention" figure)."""
    end_of_today = timezone.localtime().replace(hour=23, minute=59, second=59, microsecond=999999)
    return DunningCase.objects.filter(status=DunningCase.Status.PENDING, next_action_at__lte=end_of_today).count()


def notice_ids_unsent(*, now: datetime) -> list[int]:
    """Claims nobody has delivered and nobody holds: a worker crashed between
    claiming and sending."""
    return list(
        DunningNotice.objects.filter(sent_at__isnull=True, lease_until__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def event_ids_to_retry(*, now: datetime, max_attempts: int, stale_after: timedelta) -> list[int]:
    """Stripe events the queue lost or gave up on too early: never started
    (received long ago), stuck in processing past the task timeout (a worker
    died), or failed with attempts left (backed off by attempt count)."""
    stale = now - stale_after
    candidates = StripeEvent.objects.filter(
        Q(status=StripeEvent.Status.RECEIVED, received_at__lte=stale)
        | Q(status=StripeEvent.Status.PROCESSING, last_attempt_at__lte=stale, attempts__lt=max_attempts)
        | Q(status=StripeEvent.Status.FAILED, attempts__lt=max_attempts)
    ).values_list("pk", "status", "attempts", "last_attempt_at")
    due = []
    for pk, status, attempts, last_attempt_at in candidates:
        if status == StripeEvent.Status.FAILED and last_attempt_at and last_attempt_at > now - stale_after * attempts:
            continue  # back off: wait longer after each failure
        due.append(pk)
    return due


def case_timeline(*, case: DunningCase) -> list[dict]:
    """Everything that happened to a case, oldest first: the Stripe events for
    its subscription, the emails sent and the audited state changes."""
    entries = []
    events = StripeEvent.objects.filter(subscription_id=case.stripe_subscription_id).order_by("stripe_created")
    if case.stripe_invoice_id:
        events = StripeEvent.objects.filter(
            Q(subscription_id=case.stripe_subscription_id) | Q(object_id=case.stripe_invoice_id)
        ).order_by("stripe_created")
    for event in events:
        entries.append(
            {
                "at": event.stripe_created,
                "kind": "webhook",
                "what": event.type,
                "detail": f"{event.stripe_id} · {event.get_status_display()}"
                + (f" · {event.last_error[:120]}" if event.last_error else ""),
            }
        )
    for email in EmailLog.objects.filter(case=case):
        entries.append(
            {
                "at": email.sent_at,
                "kind": "email",
                "what": email.template + (" (resend)" if email.resend else ""),
                "detail": f"to {email.to}: {email.subject}",
            }
        )
    audit_filter = Q(target_type="billing.dunningcase", target_id=str(case.pk)) | Q(
        action="dunning.stages_advanced", details__cases__has_key=str(case.pk)
    )
    if case.account_id:
        audit_filter |= Q(
            target_type="accounts.account",
            target_id=str(case.account_id),
            action="account.billing_state_changed",
            occurred_at__gte=case.opened_at,
        )
    audit_rows = AuditEvent.objects.filter(audit_filter).order_by("seq")
    for row in audit_rows:
        details = row.details
        if row.action == "dunning.stages_advanced":
            # A batch entry: show this case's part only.
            details = {"as_of": details.get("as_of"), **(details.get("cases") or {}).get(str(case.pk), {})}
        entries.append(
            {
                "at": row.occurred_at,
                "kind": "audit",
                "what": row.action,
                "detail": f"by {row.actor_label or 'system'} {details}",
            }
        )
    entries.sort(key=lambda entry: entry["at"])
    return entries


def cases_for_admin() -> QuerySet[DunningCase]:
    return DunningCase.objects.select_related("account")
