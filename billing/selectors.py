"""Billing reads: the named questions views, admin, tasks and commands ask."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from djstripe.models import Invoice, Subscription

from compliance import audit
from compliance.outbox.models import OutboundEmail
from compliance.outbox.selectors import emails_about
from levqor.accounts.models import Account

from . import notices
from .models import DunningCase, StripeEvent


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


# A Stripe event not processed this long after it arrived is stuck: the queue
# lost it or keeps dying on it (the retry schedule runs every 5 minutes).
STUCK_AFTER = timedelta(minutes=15)


def events_stuck(*, now: datetime) -> QuerySet[StripeEvent]:
    """Events still received or processing 15 minutes after they arrived."""
    return StripeEvent.objects.filter(
        status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.PROCESSING], received_at__lte=now - STUCK_AFTER
    )


def event_stuck_count() -> int:
    return events_stuck(now=timezone.now()).count()


def event_failed_count() -> int:
    return StripeEvent.objects.filter(status=StripeEvent.Status.FAILED).count()


def event_unmatched_count() -> int:
    return StripeEvent.objects.filter(status=StripeEvent.Status.UNMATCHED).count()


def event_ids_unmatched(*, customer_id: str) -> list[int]:
    """A customer's unmatched events, in the order Stripe created them."""
    return list(
        StripeEvent.objects.filter(customer_id=customer_id, status=StripeEvent.Status.UNMATCHED)
        .order_by("stripe_created", "pk")
        .values_list("pk", flat=True)
    )


def event_ids_unmatched_to_retry(*, now: datetime, wait_for_invoice: timedelta) -> list[int]:
    """Unmatched events whose customer an account is linked to by now (the
    enqueue at linking time was lost, or it was linked another way), except
    PaymentIntent failures still within the time their invoice failure may
    take to arrive."""
    linked = Account.objects.filter(stripe_customer_id=OuterRef("customer_id"))
    return list(
        StripeEvent.objects.filter(status=StripeEvent.Status.UNMATCHED)
        .filter(Exists(linked))
        .exclude(type="payment_intent.payment_failed", stripe_created__gt=now - wait_for_invoice)
        .order_by("stripe_created", "pk")
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
    # Events applied to (or ignored for) this case, and those about its
    # subscription or invoice that touched no case (invoice.created, ...).
    about = Q(subscription_id=case.stripe_subscription_id)
    if case.stripe_invoice_id:
        about |= Q(object_id=case.stripe_invoice_id)
    events = StripeEvent.objects.filter(Q(case=case) | Q(case__isnull=True) & about).order_by("stripe_created", "pk")
    for event in events:
        outcome = event.note or event.get_status_display()
        if event.status not in (StripeEvent.Status.PROCESSED, StripeEvent.Status.UNMATCHED):
            outcome = f"{event.get_status_display()}{' · ' + event.note if event.note else ''}"
        entries.append(
            {
                "at": event.stripe_created,
                "kind": "webhook",
                "what": event.type,
                "detail": f"{event.stripe_id} · {outcome}"
                + (f" · {event.last_error[:120]}" if event.last_error else ""),
            }
        )
    for email in emails_about(case).filter(kind=notices.KIND):
        entry = _email_entry(email)
        if entry:
            entries.append(entry)
    # Stage moves are audited in batches: the batch entries naming this case.
    audit_rows = audit.entries_for(case, also=Q(action="dunning.stages_advanced", details__cases__has_key=str(case.pk)))
    if case.account_id:
        audit_rows |= audit.entries_for(case.account).filter(
            action="account.billing_state_changed", occurred_at__gte=case.opened_at
        )
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


def _email_entry(email: OutboundEmail) -> dict | None:
    """A case's email on its timeline: sent (to whom, what subject, resends),
    failing or given up (the error), or not sent and why. One still on its
    way shows nothing yet."""
    Status = OutboundEmail.Status
    if email.status == Status.SENT:
        _, name = notices.message(email.stage)
        again = f" · sent again {email.resends}×" if email.resends else ""
        return {"at": email.sent_at, "kind": "email", "what": name, "detail": f"to {email.to}: {email.subject}{again}"}
    if email.status == Status.QUEUED and not email.last_error:
        return None
    if email.status == Status.QUEUED:
        state = f"failed {email.attempts}×, next try {timezone.localtime(email.next_attempt_at):%Y-%m-%d %H:%M}"
    elif email.status == Status.FAILED:
        state = f"failed {email.attempts}×, retries used up"
    else:
        state = "not sent"
    return {
        "at": email.closed_at or email.created_at,
        "kind": "email",
        "what": f"{notices.label(email.stage)} ({state})",
        "detail": email.last_error[:200],
    }


def cases_for_admin() -> QuerySet[DunningCase]:
    return DunningCase.objects.select_related("account")


def case_list_for_account(*, account: Account) -> QuerySet[DunningCase]:
    """Every dunning case of the account, newest first (the customer page)."""
    return DunningCase.objects.filter(account=account).order_by("-opened_at", "-pk")


def account_ids_for_stripe_ref(ref: str) -> set[int]:
    """Accounts a Stripe customer, subscription or invoice id belongs to: from
    the dunning cases and dj-stripe's mirror (the admin's customer search)."""
    ref = ref.strip()
    if not ref:
        return set()
    ids = set(
        DunningCase.objects.filter(
            Q(stripe_customer_id=ref) | Q(stripe_subscription_id=ref) | Q(stripe_invoice_id=ref), account__isnull=False
        ).values_list("account_id", flat=True)
    )
    customers = {ref}
    customers |= set(Subscription.objects.filter(id=ref).values_list("customer_id", flat=True))
    customers |= set(Invoice.objects.filter(id=ref).values_list("customer_id", flat=True))
    ids |= set(Account.objects.filter(stripe_customer_id__in=customers - {None}).values_list("pk", flat=True))
    return ids
