"""Billing writes: dunning cases opened, advanced, recovered and closed,
and Stripe customers linked to accounts. Each service is atomic, audits in
its own transaction and sends email only after commit (see `notices`).

The webhook services (`*_apply`) return an `Outcome` that the intake
records on the Stripe event: applied, ignored and why, or unmatched (kept to
be applied when the customer is linked or the case opens)."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from compliance import audit
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_set_billing_state

from . import selectors
from .models import DunningCase, DunningNotice, Stage, StripeEvent, SubscriptionStanding

# Re-exported: other apps and older callers import these from `services`.
from .notices import (  # noqa: F401
    NOTICE_LEASE,
    STAGE_SENTENCES,
    TEMPLATES,
    _owner,
    notice_claim,
    notice_deliver,
    notices_enqueue,
    notices_retry_due,
)
from .payloads import (  # noqa: F401
    HARD_DECLINE_CODES,
    InvoiceFacts,
    _id,
    _payment_error,
    _ts,
    intent_error,
    invoice_facts,
    invoice_subscription_id,
)

logger = logging.getLogger(__name__)

STAGE_ORDER = {"": 0, Stage.DAY0: 1, Stage.DAY7: 2, Stage.DAY14: 3}
STAGE_DAYS = {Stage.DAY0: 0, Stage.DAY7: 7, Stage.DAY14: 14}
NEXT_STAGE = {"": Stage.DAY0, Stage.DAY0: Stage.DAY7, Stage.DAY7: Stage.DAY14, Stage.DAY14: None}


# --- Ordering: the latest fact per subscription ------------------------------------


def _standing(subscription_id: str) -> SubscriptionStanding | None:
    return SubscriptionStanding.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()


def _standing_set(subscription_id: str, standing: str, event_at: datetime, event_id: str) -> None:
    current = _standing(subscription_id)
    if current is None:
        try:
            with transaction.atomic():
                SubscriptionStanding.objects.create(
                    stripe_subscription_id=subscription_id, standing=standing, as_of=event_at, event_id=event_id
                )
            return
        except IntegrityError:
            current = _standing(subscription_id)
    current.standing = standing
    current.as_of = max(current.as_of, event_at)
    current.event_id = event_id
    current.save(update_fields=["standing", "as_of", "event_id"])


def _is_stale_failure(subscription_id: str, event_at: datetime) -> bool:
    """A failure older than (or as old as) a payment or cancellation already
    applied: a reordered delivery that must not reopen anything."""
    current = _standing(subscription_id)
    return (
        current is not None
        and current.standing in (SubscriptionStanding.Standing.OK, SubscriptionStanding.Standing.CANCELED)
        and current.as_of >= event_at
    )


def _is_stale_success(subscription_id: str, event_at: datetime) -> bool:
    current = _standing(subscription_id)
    if current is None:
        return False
    if current.standing == SubscriptionStanding.Standing.CANCELED:
        return current.as_of >= event_at
    return current.standing == SubscriptionStanding.Standing.FAILING and current.as_of > event_at


def account_for_customer(customer_id: str) -> Account | None:
    if not customer_id:
        return None
    return Account.objects.filter(stripe_customer_id=customer_id).first()


@dataclass(frozen=True)
class Outcome:
    """What applying one Stripe event did, for the event log and the case
    timeline: a note ("opened case #3", "ignored: late failure after
    recovery"), the case it touched, and whether it is `unmatched` (kept to
    be applied later)."""

    note: str
    case: DunningCase | None = None
    unmatched: bool = False


# How far apart (Stripe time) a PaymentIntent failure and the invoice failure
# of the same attempt may be: Stripe sends them together, in any order.
SAME_ATTEMPT = timedelta(hours=1)


def _latest_case(subscription_id: str) -> DunningCase | None:
    return DunningCase.objects.filter(stripe_subscription_id=subscription_id).order_by("-opened_at").first()


# --- Webhook-driven services -----------------------------------------------------------


@transaction.atomic
def failure_apply(*, invoice: dict, event_id: str, event_at: datetime, actor: User | None = None) -> Outcome:
    """`invoice.payment_failed`: open a case for the subscription, or update the
    open one with Stripe's latest attempt. Ignores events older than the last
    payment or cancellation applied; a customer linked to no account leaves
    the event unmatched. A new case's day-0 email is queued on commit. Safe to
    run twice."""
    facts = invoice_facts(invoice)
    key = facts.subscription_id or f"invoice:{facts.invoice_id}"
    if _is_stale_failure(key, event_at):
        logger.info("ignoring stale payment failure %s for %s", event_id, key)
        standing = _standing(key)
        late = "recovery" if standing.standing == SubscriptionStanding.Standing.OK else "cancellation"
        return Outcome(note=f"ignored: late failure after {late}", case=_latest_case(key))
    _standing_set(key, SubscriptionStanding.Standing.FAILING, event_at, event_id)
    account = account_for_customer(facts.customer_id)
    if account is None:
        logger.warning(
            "payment failure %s for unlinked Stripe customer %s: kept unmatched", event_id, facts.customer_id
        )
        return Outcome(
            note=f"unmatched: Stripe customer {facts.customer_id or '(none)'} is not linked to an account"[:255],
            unmatched=True,
        )
    values = {
        "stripe_invoice_id": facts.invoice_id,
        "amount_due": facts.amount_due,
        "currency": facts.currency,
        "attempt_count": facts.attempt_count,
        "next_payment_attempt": facts.next_payment_attempt,
        "hosted_invoice_url": facts.hosted_invoice_url,
    }
    if facts.failure_code or facts.decline_code or facts.failure_reason:
        # The current API's invoice carries no decline: then keep what the
        # PaymentIntent event of this attempt (which may come first) set.
        values.update(
            failure_code=facts.failure_code[:100],
            decline_code=facts.decline_code[:100],
            failure_reason=facts.failure_reason[:500],
        )
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=key, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is not None:
        if event_at < case.last_event_at:
            return Outcome(note="ignored: an older attempt than the one on the case", case=case)
        for name, value in values.items():
            setattr(case, name, value)
        case.hard_decline = case.next_payment_attempt is None and case.decline_code in HARD_DECLINE_CODES
        case.last_event_at = event_at
        case.save()
        audit.record(
            actor=actor,
            action="dunning.case_updated",
            target=case,
            details={"event": event_id, "attempt_count": facts.attempt_count, "hard_decline": case.hard_decline},
        )
        _apply_waiting_payment_errors(case=case, around=event_at, actor=actor)
        return Outcome(note=f"updated case #{case.pk}: attempt {facts.attempt_count}", case=case)
    opened_at = min(event_at, timezone.now())
    case = DunningCase(
        account=account,
        stripe_customer_id=facts.customer_id,
        stripe_subscription_id=key,
        opened_at=opened_at,
        last_event_at=event_at,
        next_action_at=opened_at,
        **values,
    )
    case.hard_decline = case.next_payment_attempt is None and case.decline_code in HARD_DECLINE_CODES
    case.save()
    audit.record(
        actor=actor,
        action="dunning.case_opened",
        target=case,
        details={
            "event": event_id,
            "account": account.pk,
            "invoice": facts.invoice_id,
            "amount_due": facts.amount_due,
            "currency": facts.currency,
            "hard_decline": case.hard_decline,
        },
    )
    _apply_waiting_payment_errors(case=case, around=event_at, actor=actor)
    # The day-0 email leaves now, not at the next hourly sweep: the same
    # claim as the sweep's, so whichever runs first sends it, once.
    case_id = case.pk
    transaction.on_commit(lambda: cases_enqueue_advance([case_id]))
    return Outcome(note=f"opened case #{case.pk}", case=case)


def case_record_failure(*, invoice: dict, event_id: str, event_at: datetime, actor: User | None = None):
    """`failure_apply`, returning the case (None when nothing was opened or updated)."""
    outcome = failure_apply(invoice=invoice, event_id=event_id, event_at=event_at, actor=actor)
    return None if outcome.unmatched or outcome.note.startswith("ignored: late") else outcome.case


def _set_payment_error(*, case: DunningCase, error: tuple[str, str, str], event_id: str, actor) -> bool:
    code, decline, reason = error
    hard = case.next_payment_attempt is None and decline in HARD_DECLINE_CODES
    if (case.failure_code, case.decline_code, case.failure_reason, case.hard_decline) == (code, decline, reason, hard):
        return False
    case.failure_code, case.decline_code, case.failure_reason, case.hard_decline = code, decline, reason, hard
    case.save(update_fields=["failure_code", "decline_code", "failure_reason", "hard_decline", "updated_at"])
    audit.record(
        actor=actor,
        action="dunning.case_updated",
        target=case,
        details={"event": event_id, "decline_code": decline, "hard_decline": hard},
    )
    return True


def _apply_waiting_payment_errors(*, case: DunningCase, around: datetime, actor) -> None:
    """`payment_intent.payment_failed` events of this attempt that arrived
    before its invoice failure (kept unmatched, or given up on): apply them
    to the case now, in Stripe order."""
    waiting = StripeEvent.objects.filter(
        type="payment_intent.payment_failed",
        customer_id=case.stripe_customer_id,
        case__isnull=True,
        stripe_created__gte=around - SAME_ATTEMPT,
        stripe_created__lte=around + SAME_ATTEMPT,
    ).exclude(status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.PROCESSING, StripeEvent.Status.FAILED])
    for event in waiting.order_by("stripe_created", "pk"):
        intent = ((event.payload or {}).get("data") or {}).get("object") or {}
        error = intent_error(intent)
        if error is None:
            continue
        changed = _set_payment_error(case=case, error=error, event_id=event.stripe_id, actor=actor)
        note = f"applied to case #{case.pk}: decline {error[1] or error[0] or 'unknown'}"
        StripeEvent.objects.filter(pk=event.pk).update(
            status=StripeEvent.Status.PROCESSED,
            processed_at=timezone.now(),
            note=note if changed else f"case #{case.pk} already had this decline",
            case=case,
        )


@transaction.atomic
def payment_error_apply(
    *, intent: dict, event_id: str, event_at: datetime, actor: User | None = None, now: datetime | None = None
) -> Outcome:
    """`payment_intent.payment_failed`: in the current API the decline code
    lives on the PaymentIntent, not the invoice. Add it to the customer's
    open case (hard decline if Stripe also stopped retrying). With no open
    case yet (it may come before its invoice failure) the event stays
    unmatched and is applied when the case opens. Safe to run twice."""
    error = intent_error(intent)
    customer_id = _id(intent.get("customer"))
    if error is None:
        return Outcome(note="ignored: no payment error on the PaymentIntent")
    if not customer_id:
        return Outcome(note="ignored: no Stripe customer on the PaymentIntent")
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_customer_id=customer_id, status=DunningCase.Status.PENDING)
        .order_by("-opened_at")
        .first()
    )
    if case is None:
        now = now or timezone.now()
        if account_for_customer(customer_id) is not None and event_at < now - SAME_ATTEMPT:
            # Its invoice failure would have come by now: not a subscription
            # payment. Should one still open a case, it picks this up.
            return Outcome(note="ignored: no invoice failure followed (not a subscription payment)")
        return Outcome(note=f"unmatched: no open dunning case for {customer_id} yet", unmatched=True)
    # Only the attempt that opened or last updated the case, not an old one.
    if event_at < case.opened_at - SAME_ATTEMPT:
        return Outcome(note=f"ignored: older than case #{case.pk}")
    if not _set_payment_error(case=case, error=error, event_id=event_id, actor=actor):
        return Outcome(note=f"case #{case.pk} already had this decline", case=case)
    return Outcome(note=f"applied to case #{case.pk}: decline {error[1] or error[0] or 'unknown'}", case=case)


def case_record_payment_error(
    *, intent: dict, event_id: str, event_at: datetime, actor: User | None = None
) -> DunningCase | None:
    """`payment_error_apply`, returning the case it applied to, if any."""
    return payment_error_apply(intent=intent, event_id=event_id, event_at=event_at, actor=actor).case


@transaction.atomic
def payment_apply(
    *, subscription_id: str, event_id: str, event_at: datetime, reason: str, actor: User | None = None
) -> Outcome:
    """`invoice.paid` / `invoice.payment_succeeded` / subscription back to
    `active`: recover the open case. Ignores a payment older than a failure
    already applied. Safe to run twice."""
    if not subscription_id:
        return Outcome(note="ignored: no subscription")
    if _is_stale_success(subscription_id, event_at):
        return Outcome(
            note="ignored: payment older than the failure or cancellation on record",
            case=_latest_case(subscription_id),
        )
    _standing_set(subscription_id, SubscriptionStanding.Standing.OK, event_at, event_id)
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is None:
        return Outcome(note="no open dunning case")
    case.last_event_at = max(case.last_event_at, event_at)
    _recover(case=case, reason=reason, details={"event": event_id}, actor=actor)
    return Outcome(note=f"recovered case #{case.pk}", case=case)


def case_record_payment(
    *, subscription_id: str, event_id: str, event_at: datetime, reason: str, actor: User | None = None
) -> DunningCase | None:
    """`payment_apply`, returning the case it recovered, if any."""
    outcome = payment_apply(
        subscription_id=subscription_id, event_id=event_id, event_at=event_at, reason=reason, actor=actor
    )
    return outcome.case if outcome.note.startswith("recovered") else None


@transaction.atomic
def cancellation_apply(
    *, subscription_id: str, event_id: str, event_at: datetime, customer_id: str = "", actor: User | None = None
) -> Outcome:
    """`customer.subscription.deleted`: close the open case as canceled and
    mark the customer's account canceled (a Levqor account has one
    subscription). Safe to run twice."""
    if not subscription_id:
        return Outcome(note="ignored: no subscription")
    _standing_set(subscription_id, SubscriptionStanding.Standing.CANCELED, event_at, event_id)
    account = account_for_customer(customer_id) if customer_id else None
    if account is not None:
        account_set_billing_state(
            account=account,
            state=Account.BillingState.CANCELED,
            reason=f"Stripe subscription {subscription_id} deleted ({event_id})",
            actor=actor,
        )
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is None:
        return Outcome(note="account canceled; no open dunning case" if account else "no open dunning case")
    now = timezone.now()
    case.status = DunningCase.Status.CANCELED
    case.closed_at = now
    case.next_action_at = None
    case.last_event_at = max(case.last_event_at, event_at)
    case.save()
    audit.record(actor=actor, action="dunning.case_canceled", target=case, details={"event": event_id})
    return Outcome(note=f"canceled case #{case.pk}", case=case)


def case_record_cancellation(
    *, subscription_id: str, event_id: str, event_at: datetime, customer_id: str = "", actor: User | None = None
) -> DunningCase | None:
    """`cancellation_apply`, returning the case it closed, if any."""
    outcome = cancellation_apply(
        subscription_id=subscription_id, event_id=event_id, event_at=event_at, customer_id=customer_id, actor=actor
    )
    return outcome.case if outcome.note.startswith("canceled") else None


def _recover(*, case: DunningCase, reason: str, details: dict, actor: User | None) -> None:
    now = timezone.now()
    case.status = DunningCase.Status.RECOVERED
    case.closed_at = now
    case.next_action_at = None
    case.save()
    audit.record(actor=actor, action="dunning.case_recovered", target=case, details={"reason": reason, **details})
    account = case.account
    if (
        account is not None
        and account.billing_state == Account.BillingState.PAUSED_BILLING
        and not account.dunning_cases.filter(status=DunningCase.Status.PENDING).exclude(pk=case.pk).exists()
    ):
        account_set_billing_state(
            account=account, state=Account.BillingState.ACTIVE, reason=f"dunning case #{case.pk} recovered", actor=actor
        )
        audit.record(actor=actor, action="dunning.account_unpaused", target=case, details={"account": account.pk})
    # Claimed in the recovery's transaction, sent after it commits: the
    # "payment received" email never goes out for a recovery rolled back.
    notice_claim(case=case, kind=DunningNotice.Kind.RECOVERED)


# --- The sweep -----------------------------------------------------------------------------


def stage_due(case: DunningCase, now: datetime) -> str | None:
    """The most advanced stage the case's age has reached, if beyond its current one."""
    age = now - case.opened_at
    due = None
    for stage in (Stage.DAY0, Stage.DAY7, Stage.DAY14):
        if age >= timedelta(days=STAGE_DAYS[stage]):
            due = stage
    if due is None or STAGE_ORDER[due] <= STAGE_ORDER[case.stage]:
        return None
    return due


def cases_enqueue_advance(case_ids: list[int]) -> None:
    """Advance just-opened cases in a worker now (their day-0 email), with
    the sweep's own claim so it is sent once whoever runs first. Never
    raises: if the broker is down the hourly sweep sends it."""
    from django_q.tasks import async_task

    try:
        async_task("billing.tasks.advance_cases", case_ids, task_name=f"dunning-advance-{case_ids[0]}")
    except Exception:
        logger.exception("could not enqueue the advance of %d new cases; the sweep will", len(case_ids))


def case_advance(*, case_id: int, now: datetime, actor: User | None = None) -> str | None:
    """Advance one case if due (see `cases_advance`). Returns the stage or None."""
    return cases_advance(case_ids=[case_id], now=now, actor=actor).get(case_id)


@transaction.atomic
def cases_advance(*, case_ids: list[int], now: datetime, actor: User | None = None) -> dict[int, str]:
    """Move each pending case to the stage its age calls for, claim that
    stage's email (a unique (case, stage) row) and queue the emails after
    commit; day 14 pauses the account. One transaction and one audit entry
    per batch, so 100,000 cases stay cheap.

    Workers racing: the batch's rows are locked first (PostgreSQL: FOR UPDATE
    SKIP LOCKED, so a second worker takes other rows; SQLite: the IMMEDIATE
    transaction holds the write lock), then re-read, so a row another worker
    advanced meanwhile is no longer due. The stage update is still
    conditional on the old stage, and the batch rolls back if any row
    changed under it. Returns {case id: stage} for the cases this call
    advanced. Safe to run twice."""
    cases = DunningCase.objects.filter(pk__in=case_ids, status=DunningCase.Status.PENDING).select_related("account")
    if connection.features.has_select_for_update_skip_locked:
        cases = cases.select_for_update(skip_locked=True, of=("self",))
    plan = [(case, case.stage, stage_due(case, now)) for case in cases.order_by("pk")]
    plan = [(case, previous, stage) for case, previous, stage in plan if stage]
    if not plan:
        return {}
    groups: dict[tuple[str, str], list[int]] = {}
    for case, previous, stage in plan:
        groups.setdefault((previous, stage), []).append(case.pk)
    changed_at = timezone.now()
    for (previous, stage), ids in groups.items():
        following = NEXT_STAGE[stage]
        next_action = F("opened_at") + timedelta(days=STAGE_DAYS[following]) if following else None
        won = DunningCase.objects.filter(pk__in=ids, status=DunningCase.Status.PENDING, stage=previous).update(
            stage=stage, next_action_at=next_action, updated_at=changed_at
        )
        if won != len(ids):
            raise RuntimeError("Dunning cases changed under a locked batch; it is rolled back and retried next run.")
    audit.record(
        actor=actor,
        action="dunning.stages_advanced",
        target_type=DunningCase._meta.label_lower,
        details={
            "as_of": now.isoformat(),
            "cases": {
                str(case.pk): {
                    "from": previous,
                    "to": stage,
                    "skipped": [
                        s
                        for s in (Stage.DAY0, Stage.DAY7)
                        if STAGE_ORDER[previous] < STAGE_ORDER[s] < STAGE_ORDER[stage]
                    ],
                }
                for case, previous, stage in plan
            },
        },
    )
    for case, _, stage in plan:
        case.stage = stage
        if stage == Stage.DAY14 and case.account is not None:
            if account_set_billing_state(
                account=case.account,
                state=Account.BillingState.PAUSED_BILLING,
                reason=f"dunning case #{case.pk}: 14 days unpaid",
                actor=actor,
            ):
                audit.record(
                    actor=actor, action="dunning.account_paused", target=case, details={"account": case.account_id}
                )
    lease = timezone.now() + NOTICE_LEASE
    # No conflict is possible: a claim exists only for a stage already
    # reached, and the stage update above commits with these rows.
    created = DunningNotice.objects.bulk_create(
        [DunningNotice(case=case, kind=stage, lease_until=lease) for case, _, stage in plan]
    )
    ids = [notice.pk for notice in created]
    if None in ids:  # a backend that cannot return ids from a bulk insert
        ids = list(
            DunningNotice.objects.filter(case_id__in=[c.pk for c, _, _ in plan], sent_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
    transaction.on_commit(lambda: notices_enqueue(ids))
    return {case.pk: stage for case, _, stage in plan}


@dataclass
class RunResult:
    due: int = 0
    advanced: dict = field(default_factory=dict)
    redelivered: int = 0

    def describe(self, *, dry_run: bool) -> str:
        stages = ", ".join(f"{stage}: {count}" for stage, count in sorted(self.advanced.items())) or "none"
        verb = "would advance" if dry_run else "advanced"
        return f"{self.due} cases due; {verb} {stages}; {self.redelivered} unsent emails re-sent."


def dunning_run(
    *, now: datetime | None = None, dry_run: bool = False, actor: User | None = None, batch_size: int = 1000
) -> RunResult:
    """The scheduled sweep: advance every due case, in batches of one
    transaction each, and deliver claimed emails nobody sent before their
    lease ran out (a crashed worker). Safe to run twice or on several
    workers at once."""
    now = now or timezone.now()
    result = RunResult()
    for ids in selectors.case_ids_due(now=now, batch_size=batch_size):
        result.due += len(ids)
        if dry_run:
            stages = [stage_due(case, now) for case in DunningCase.objects.filter(pk__in=ids)]
        else:
            stages = list(cases_advance(case_ids=ids, now=now, actor=actor).values())
        for stage in filter(None, stages):
            result.advanced[stage] = result.advanced.get(stage, 0) + 1
    if dry_run:
        result.redelivered = len(selectors.notice_ids_unsent(now=timezone.now()))
    else:
        result.redelivered = notices_retry_due(now=timezone.now())
    return result


# --- Staff actions ----------------------------------------------------------------------------------


@transaction.atomic
def case_mark_recovered(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: close a pending case as recovered (un-pauses, sends the
    "payment received" email). False if it was not pending."""
    case = DunningCase.objects.select_for_update().get(pk=case.pk)
    if case.status != DunningCase.Status.PENDING:
        return False
    # From now on only a newer Stripe failure opens a case again.
    _standing_set(case.stripe_subscription_id, SubscriptionStanding.Standing.OK, timezone.now(), "staff")
    _recover(case=case, reason="marked recovered by staff", details={}, actor=actor)
    return True


@transaction.atomic
def case_resend_current(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: send the current stage's email again (logged as a resend).
    False if no stage email has been claimed yet."""
    kind = case.stage or (DunningNotice.Kind.RECOVERED if case.status == DunningCase.Status.RECOVERED else "")
    notice = DunningNotice.objects.filter(case=case, kind=kind).first() if kind else None
    if notice is None:
        return False
    DunningNotice.objects.filter(pk=notice.pk).update(resends=F("resends") + 1, lease_until=timezone.now())
    audit.record(actor=actor, action="dunning.email_resend_requested", target=case, details={"kind": kind})
    transaction.on_commit(lambda: notice_deliver(notice_id=notice.pk, resend=True))  # staff wait for it
    return True


@transaction.atomic
def case_pause_account(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: pause the case's account for billing. False if already paused."""
    if case.account is None or not account_set_billing_state(
        account=case.account, state=Account.BillingState.PAUSED_BILLING, reason=f"staff, case #{case.pk}", actor=actor
    ):
        return False
    audit.record(actor=actor, action="dunning.account_paused", target=case, details={"account": case.account_id})
    return True


@transaction.atomic
def case_unpause_account(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: lift a billing pause. False if the account was not paused."""
    account = case.account
    if account is None or account.billing_state != Account.BillingState.PAUSED_BILLING:
        return False
    account_set_billing_state(
        account=account, state=Account.BillingState.ACTIVE, reason=f"staff, case #{case.pk}", actor=actor
    )
    audit.record(actor=actor, action="dunning.account_unpaused", target=case, details={"account": account.pk})
    return True
