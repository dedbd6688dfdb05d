"""Support reads: the named questions pages, API, admin and tasks ask."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from compliance import audit
from compliance.outbox.models import OutboundEmail
from compliance.outbox.selectors import emails_about
from levqor.accounts.models import Account
from levqor.plans import PLANS

from .businessdays import add_business_days
from .models import DfyOrder, Dispute, DisputeMessage, SlaCreditRequest, Ticket, TicketMessage
from .rules import CLAIM_LEASE

PAYING_STATES = (Account.BillingState.ACTIVE, Account.BillingState.PAUSED_BILLING)


def sla_request_list(*, account: Account) -> QuerySet[SlaCreditRequest]:
    return SlaCreditRequest.objects.filter(account=account).order_by("-created_at", "-pk")


def sla_request_get(*, account: Account, request_id) -> SlaCreditRequest | None:
    """The account's own request, or None (another account's is invisible)."""
    try:
        return SlaCreditRequest.objects.filter(account=account, pk=int(request_id)).first()
    except (TypeError, ValueError):
        return None


def sla_request_open_for_month(*, account: Account, month: date) -> SlaCreditRequest | None:
    return SlaCreditRequest.objects.filter(
        account=account, period_month=month, status__in=SlaCreditRequest.OPEN
    ).first()


def sla_credited_for_month(*, account: Account, month: date, exclude_pk=None) -> int:
    """Credits already approved for the account's month (the cap counts them)."""
    rows = (
        SlaCreditRequest.objects.filter(account=account, period_month=month, status=SlaCreditRequest.Status.APPROVED)
        .exclude(pk=exclude_pk)
        .exclude(credit_state=SlaCreditRequest.CreditState.CANCELED)
    )
    return rows.aggregate(total=Sum("credit_amount_minor"))["total"] or 0


def sla_requests_for_staff(*, status: str | None = None) -> QuerySet[SlaCreditRequest]:
    rows = SlaCreditRequest.objects.select_related("account", "user").order_by("created_at", "pk")
    if status == "needs-attention":
        return rows.filter(status=SlaCreditRequest.Status.PENDING)
    if status:
        return rows.filter(status=status)
    return rows


def sla_request_pending_count() -> int:
    return SlaCreditRequest.objects.filter(status=SlaCreditRequest.Status.PENDING).count()


def sla_credits_due(*, now: datetime) -> QuerySet[SlaCreditRequest]:
    """Credits still owed whose next attempt is due and that no worker holds."""
    return (
        SlaCreditRequest.objects.filter(
            status=SlaCreditRequest.Status.APPROVED,
            credit_state__in=SlaCreditRequest.CREDIT_DUE,
            stripe_credit_id="",
            credit_amount_minor__gt=0,
        )
        .filter(Q(credit_next_attempt_at__isnull=True) | Q(credit_next_attempt_at__lte=now))
        .filter(Q(credit_claimed_at__isnull=True) | Q(credit_claimed_at__lt=now - CLAIM_LEASE))
        .order_by("credit_next_attempt_at", "pk")
    )


def sla_credits_failed() -> QuerySet[SlaCreditRequest]:
    """Credits that failed in Stripe: awaiting a retry, or exhausted / refused (needs staff)."""
    return SlaCreditRequest.objects.filter(credit_state__in=SlaCreditRequest.CREDIT_FAILED)


def sla_credit_failed_count() -> int:
    return sla_credits_failed().count()


def account_paying_during(*, account: Account, start: datetime, end: datetime) -> bool:
    """Whether the account was paying (active or paused for billing) at some
    moment of [start, end): its state at `start`, or a recorded move into a
    paying state before `end`. The history is the audited billing-state
    changes; before the first change the state is that change's "from", and
    with no change at all it is the state now.

    So an account that was trialing through the period and paid only after
    it is refused, whatever it does later; one canceled before the period is
    refused unless it came back during it."""
    changes = audit.entries_for(account).filter(action="account.billing_state_changed").order_by("occurred_at", "seq")
    last_before = changes.filter(occurred_at__lte=start).values_list("details", flat=True).last()
    if last_before is not None:
        state_at_start = (last_before or {}).get("to")
    else:
        first_after = changes.filter(occurred_at__gt=start).values_list("details", flat=True).first()
        state_at_start = (first_after or {}).get("from") if first_after is not None else account.billing_state
    if state_at_start in PAYING_STATES:
        return True
    during = changes.filter(occurred_at__gt=start, occurred_at__lt=end).values_list("details", flat=True)
    return any((details or {}).get("to") in PAYING_STATES for details in during)


def dispute_list(*, account: Account) -> QuerySet[Dispute]:
    return Dispute.objects.filter(account=account, source=Dispute.Source.CUSTOMER).order_by("-created_at", "-pk")


def dispute_get(*, account: Account, dispute_id) -> Dispute | None:
    try:
        return Dispute.objects.filter(account=account, source=Dispute.Source.CUSTOMER, pk=int(dispute_id)).first()
    except (TypeError, ValueError):
        return None


def dispute_public_messages(*, dispute: Dispute) -> QuerySet[DisputeMessage]:
    """What the customer sees: staff replies and their own messages, never internal notes."""
    return dispute.messages.exclude(kind=DisputeMessage.Kind.INTERNAL).select_related("author")


def disputes_needing_attention() -> QuerySet[Dispute]:
    return Dispute.objects.filter(status__in=Dispute.OPEN)


def dispute_open_count() -> int:
    return disputes_needing_attention().count()


def chargebacks_evidence_due(*, now: datetime | None = None, days: int = 3) -> QuerySet[Dispute]:
    """Chargebacks Stripe still awaits evidence for, due within `days` (or overdue)."""
    now = now or timezone.now()
    return Dispute.objects.filter(
        source=Dispute.Source.CHARGEBACK,
        evidence_due_by__isnull=False,
        evidence_due_by__lte=now + timedelta(days=days),
        evidence_due_by__gt=now - timedelta(days=1),
        stripe_status__in=("needs_response", "warning_needs_response"),
        evidence_submission_count=0,
    ).exclude(status=Dispute.Status.CLOSED)


def chargeback_evidence_due_count(*, now: datetime | None = None) -> int:
    return chargebacks_evidence_due(now=now).count()


def _audit_entries(obj) -> list[dict]:
    return [
        {"at": e.occurred_at, "kind": "audit", "what": e.action, "who": e.actor_label, "detail": e.details}
        for e in audit.entries_for(obj)
    ]


def _email_state(email: OutboundEmail) -> str:
    if email.status == OutboundEmail.Status.SENT:
        return f"sent, and again {email.resends} time(s) at staff request" if email.resends else "sent"
    if email.status == OutboundEmail.Status.FAILED:
        handled = f" ({email.handled_note})" if email.handled_note else ""
        return f"failed to send, gave up after {email.attempts} attempt(s): {email.last_error}{handled}"
    if email.status == OutboundEmail.Status.QUEUED:
        if email.last_error:
            return f"failed to send ({email.attempts} attempt(s)), will be retried: {email.last_error}"
        return "queued"
    return email.last_error or email.get_status_display()  # skipped or dropped: the reason


def _email_entries(emails) -> list[dict]:
    return [
        {
            "at": e.sent_at or e.created_at,
            "kind": "email",
            "what": e.template,
            "who": e.to,
            "detail": _email_state(e),
        }
        for e in emails
    ]


def _record_entries(obj: SlaCreditRequest | Dispute) -> list[dict]:
    """What every support record's timeline shows: its audit entries, messages and emails."""
    entries = _audit_entries(obj)
    entries += [
        {
            "at": m.created_at,
            "kind": "message",
            "what": m.get_kind_display(),
            "who": str(m.author or ""),
            "detail": m.body,
        }
        for m in obj.messages.select_related("author")
    ]
    entries += _email_entries(emails_about(obj))
    return entries


def sla_request_timeline(*, request: SlaCreditRequest) -> list[dict]:
    """Everything that happened to a request, oldest first: audit entries, messages, emails."""
    return sorted(_record_entries(request), key=lambda e: e["at"])


def dispute_timeline(*, dispute: Dispute) -> list[dict]:
    """Audit entries, messages (internal ones marked), emails and Stripe events, oldest first."""
    entries = _record_entries(dispute)
    for item in dispute.stripe_events or []:
        entries.append(
            {
                "at": datetime.fromisoformat(item["at"]),
                "kind": "stripe",
                "what": item["type"],
                "who": item["id"],
                "detail": "applied" if item.get("applied") else "older than the state shown: not applied",
            }
        )
    return sorted(entries, key=lambda e: e["at"])


def staff_search(queryset, term: str):
    return queryset.filter(Q(account__name__icontains=term) | Q(user__email__icontains=term))


# --- Tickets ---------------------------------------------------------------------------


def ticket_list(*, account: Account):
    """The account's tickets, newest first (merged duplicates included, marked)."""
    return Ticket.objects.filter(account=account).order_by("-opened_at", "-pk")


def ticket_get(*, account: Account, ticket_id: int) -> Ticket | None:
    return Ticket.objects.filter(account=account, pk=ticket_id).first()


def ticket_public_messages(*, ticket: Ticket):
    """What the customer sees of the thread: never internal notes."""
    return ticket.messages.exclude(kind=TicketMessage.Kind.INTERNAL).select_related("author")


def tickets_awaiting_first_response():
    return Ticket.objects.filter(status__in=Ticket.ACTIVE, first_responded_at__isnull=True, merged_into__isnull=True)


def tickets_near_breach(now: datetime | None = None):
    """Awaiting a first response that is due within the hour (not yet breached)."""
    now = now or timezone.now()
    return tickets_awaiting_first_response().filter(
        first_response_due_at__gt=now, first_response_due_at__lte=now + timedelta(hours=1)
    )


def tickets_breached(now: datetime | None = None):
    """Awaiting a first response that is overdue."""
    return tickets_awaiting_first_response().filter(first_response_due_at__lte=now or timezone.now())


def tickets_near_breach_count() -> int:
    return tickets_near_breach().count()


def tickets_breached_count() -> int:
    return tickets_breached().count()


def ticket_timeline(*, ticket: Ticket) -> list[dict]:
    """Audit entries, messages (internal notes marked) and emails, oldest first."""
    entries = _audit_entries(ticket)
    entries += [
        {
            "at": m.created_at,
            "kind": "message",
            "what": m.get_kind_display(),
            "who": str(m.author or ""),
            "detail": m.body,
        }
        for m in ticket.messages.select_related("author")
    ]
    entries += _email_entries(emails_about(ticket))
    return sorted(entries, key=lambda e: e["at"])


@dataclass(frozen=True)
class SlaReportRow:
    plan: str
    plan_name: str
    sla_hours: int
    tickets: int
    answered: int
    median_first_response: timedelta | None
    within_sla: int
    breached_open: int

    @property
    def within_percent(self) -> float | None:
        """Of the month's tickets whose clock has run out or stopped, the share answered in time."""
        judged = self.answered + self.breached_open
        return round(100 * self.within_sla / judged, 1) if judged else None


def ticket_sla_report(*, month: date, now: datetime | None = None) -> list[SlaReportRow]:
    """Per plan, the tickets opened in `month` (UTC): how many, the median time
    to first response, and the share answered within the plan's hours (open
    tickets count against it once overdue). Merged duplicates are left out."""
    now = now or timezone.now()
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    rows = (
        Ticket.objects.filter(opened_at__gte=start, opened_at__lt=end, merged_into__isnull=True)
        .values_list("plan", "opened_at", "first_responded_at", "first_response_due_at")
        .order_by()
    )
    by_plan: dict[str, list] = {plan.code: [] for plan in PLANS}
    for row in rows:
        by_plan.setdefault(row[0], []).append(row)
    report = []
    for plan in PLANS:
        tickets = by_plan[plan.code]
        waits = [answered - opened for _, opened, answered, _ in tickets if answered is not None]
        report.append(
            SlaReportRow(
                plan=plan.code,
                plan_name=plan.name,
                sla_hours=plan.support_sla_hours,
                tickets=len(tickets),
                answered=len(waits),
                median_first_response=median(waits) if waits else None,
                within_sla=sum(1 for _, _, answered, due in tickets if answered is not None and answered <= due),
                breached_open=sum(1 for _, _, answered, due in tickets if answered is None and due <= now),
            )
        )
    return report


# --- DFY orders ------------------------------------------------------------------------


def dfy_orders_undelivered():
    """Builds under way that were never delivered: only these can be late
    (clause 2.3: delivered when we say it is ready; a revision round after that is not lateness)."""
    return DfyOrder.objects.filter(status__in=DfyOrder.IN_PROGRESS, delivered_at__isnull=True)


def dfy_orders_overdue(today: date | None = None):
    """Builds under way past their due date: late against the contract (clause 2.5, full refund on request)."""
    today = today or timezone.localdate()
    return dfy_orders_undelivered().filter(due_date__lt=today)


def dfy_orders_due_soon(today: date | None = None):
    """Builds under way due within 3 business days (not yet overdue)."""
    today = today or timezone.localdate()
    return dfy_orders_undelivered().filter(due_date__gte=today, due_date__lte=add_business_days(today, 3))


def dfy_orders_for_account(*, account: Account):
    return DfyOrder.objects.filter(account=account).order_by("-created_at", "-pk")


def dfy_orders_overdue_count() -> int:
    return dfy_orders_overdue().count()


def dfy_orders_due_soon_count() -> int:
    return dfy_orders_due_soon().count()


def dfy_order_get(*, account: Account, order_id: int) -> DfyOrder | None:
    return DfyOrder.objects.filter(account=account, pk=order_id).first()


@dataclass(frozen=True)
class ChargebackMonth:
    month: date
    won: int
    lost: int
    won_minor: int
    lost_minor: int

    @property
    def won_pounds(self) -> str:
        return f"{self.won_minor / 100:.2f}"

    @property
    def lost_pounds(self) -> str:
        return f"{self.lost_minor / 100:.2f}"

    @property
    def win_percent(self) -> float | None:
        closed = self.won + self.lost
        return round(100 * self.won / closed, 1) if closed else None


def chargeback_outcomes_by_month() -> list[ChargebackMonth]:
    """Chargebacks Stripe closed as won or lost (charge.dispute.closed), per
    UTC month of the closing event, newest first."""
    rows = Dispute.objects.filter(
        source=Dispute.Source.CHARGEBACK, stripe_status__in=["won", "lost"], stripe_event_at__isnull=False
    ).values_list("stripe_event_at", "stripe_status", "amount_minor")
    months: dict[date, dict[str, int]] = {}
    for at, outcome, amount in rows:
        month = at.astimezone(UTC).date().replace(day=1)
        tally = months.setdefault(month, {"won": 0, "lost": 0, "won_minor": 0, "lost_minor": 0})
        tally[outcome] += 1
        tally[f"{outcome}_minor"] += amount or 0
    return [ChargebackMonth(month=month, **tally) for month, tally in sorted(months.items(), reverse=True)]
