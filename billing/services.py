"""Billing writes: dunning cases opened, advanced, recovered and closed, and
the emails they send. Each service is atomic, audits in its own transaction
and sends email only after commit."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from compliance import audit
from levqor import emails
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_set_billing_state

from . import selectors
from .models import DunningCase, DunningNotice, EmailLog, Stage, SubscriptionStanding

logger = logging.getLogger(__name__)

STAGE_ORDER = {"": 0, Stage.DAY0: 1, Stage.DAY7: 2, Stage.DAY14: 3}
STAGE_DAYS = {Stage.DAY0: 0, Stage.DAY7: 7, Stage.DAY14: 14}
NEXT_STAGE = {"": Stage.DAY0, Stage.DAY0: Stage.DAY7, Stage.DAY7: Stage.DAY14, Stage.DAY14: None}
STAGE_SENTENCES = {
    Stage.DAY0: "Payment failed, please update your card to avoid interruption.",
    Stage.DAY7: "Second reminder, service will be paused if payment is not fixed.",
    Stage.DAY14: "Account paused due to non-payment, contact support to restore.",
}
TEMPLATES = {
    DunningNotice.Kind.DAY0: "dunning-day0",
    DunningNotice.Kind.DAY7: "dunning-day7",
    DunningNotice.Kind.DAY14: "dunning-day14",
    DunningNotice.Kind.RECOVERED: "dunning-recovered",
}
# Decline codes for which Stripe will not retry and the customer must add a
# new card (https://docs.stripe.com/declines/codes).
HARD_DECLINE_CODES = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "merchant_blacklist",
        "card_not_supported",
        "expired_card",
        "incorrect_number",
        "invalid_account",
        "new_account_information_available",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "stop_payment_order",
        "transaction_not_allowed",
    }
)
# How long a worker may hold an email claim before another may deliver it
# (a crash between claiming and sending is detected after this).
NOTICE_LEASE = timedelta(minutes=10)


# --- Reading Stripe's invoice payloads ------------------------------------------


def _ts(value) -> datetime | None:
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _id(value) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


@dataclass
class InvoiceFacts:
    invoice_id: str
    customer_id: str
    subscription_id: str
    amount_due: int
    currency: str
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str
    failure_code: str = ""
    decline_code: str = ""
    failure_reason: str = ""
    extra: dict = field(default_factory=dict)


def invoice_subscription_id(invoice: dict) -> str:
    """The invoice's subscription in either API shape: `parent.subscription_details
    .subscription` (current API; `subscription` is gone) or `subscription`
    (older API versions, and localstripe)."""
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    current = details.get("subscription") if isinstance(details, dict) else None
    return _id(current) or _id(invoice.get("subscription"))


def _payment_error(invoice: dict) -> tuple[str, str, str]:
    """(failure code, decline code, message) for the invoice's last payment,
    from the payload when Stripe expanded it, else from what dj-stripe synced."""
    candidates = []
    for key in ("payment_intent", "charge"):
        value = invoice.get(key)
        if isinstance(value, dict):
            candidates.append((key, value))
    if not candidates:
        from djstripe.models import Charge, PaymentIntent

        # dj-stripe 2.11 keeps these fields in the synced object's JSON. The
        # current API has no `invoice.payment_intent`: the attempt is under
        # `payments` (when included), or arrives as payment_intent.payment_failed
        # (see `case_record_payment_error`).
        pi_id, charge_id = _id(invoice.get("payment_intent")), _id(invoice.get("charge"))
        payments = invoice.get("payments")
        if not pi_id and isinstance(payments, dict) and isinstance(payments.get("data"), list):
            for row in reversed(payments["data"]):
                payment = row.get("payment") if isinstance(row, dict) else None
                if isinstance(payment, dict) and _id(payment.get("payment_intent")):
                    pi_id = _id(payment.get("payment_intent"))
                    break
        if pi_id:
            intent = PaymentIntent.objects.filter(id=pi_id).values_list("stripe_data", flat=True).first()
            if intent:
                candidates.append(("payment_intent", intent))
        if charge_id:
            charge = Charge.objects.filter(id=charge_id).values_list("stripe_data", flat=True).first()
            if charge:
                candidates.append(("charge", charge))
    code = decline = message = ""
    for key, value in candidates:
        if key == "payment_intent":
            error = value.get("last_payment_error") or {}
            code = code or error.get("code") or ""
            decline = decline or error.get("decline_code") or ""
            message = message or error.get("message") or ""
        else:
            outcome = value.get("outcome") or {}
            code = code or value.get("failure_code") or ""
            decline = decline or outcome.get("reason") or ""
            message = message or value.get("failure_message") or outcome.get("seller_message") or ""
    return code, decline, message


def invoice_facts(invoice: dict) -> InvoiceFacts:
    code, decline, message = _payment_error(invoice)
    return InvoiceFacts(
        invoice_id=invoice.get("id") or "",
        customer_id=_id(invoice.get("customer")),
        subscription_id=invoice_subscription_id(invoice),
        amount_due=int(invoice.get("amount_remaining") or invoice.get("amount_due") or 0),
        currency=(invoice.get("currency") or "").lower(),
        attempt_count=int(invoice.get("attempt_count") or 0),
        next_payment_attempt=_ts(invoice.get("next_payment_attempt")),
        hosted_invoice_url=invoice.get("hosted_invoice_url") or "",
        failure_code=code,
        decline_code=decline,
        failure_reason=message or decline or code,
    )


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


def _owner(account: Account | None) -> User | None:
    if account is None:
        return None
    return account.users.filter(is_active=True).order_by("pk").first()


# --- Webhook-driven services -----------------------------------------------------------


@transaction.atomic
def case_record_failure(*, invoice: dict, event_id: str, event_at: datetime, actor: User | None = None):
    """`invoice.payment_failed`: open a case for the subscription, or update the
    open one with Stripe's latest attempt. Ignores events older than the last
    payment or cancellation applied. Safe to run twice."""
    facts = invoice_facts(invoice)
    key = facts.subscription_id or f"invoice:{facts.invoice_id}"
    if _is_stale_failure(key, event_at):
        logger.info("ignoring stale payment failure %s for %s", event_id, key)
        return None
    _standing_set(key, SubscriptionStanding.Standing.FAILING, event_at, event_id)
    account = account_for_customer(facts.customer_id)
    if account is None:
        logger.warning(
            "payment failure %s for unknown Stripe customer %s: stored, no case", event_id, facts.customer_id
        )
        return None
    hard = facts.next_payment_attempt is None and facts.decline_code in HARD_DECLINE_CODES
    values = {
        "stripe_invoice_id": facts.invoice_id,
        "failure_code": facts.failure_code[:100],
        "decline_code": facts.decline_code[:100],
        "failure_reason": facts.failure_reason[:500],
        "hard_decline": hard,
        "amount_due": facts.amount_due,
        "currency": facts.currency,
        "attempt_count": facts.attempt_count,
        "next_payment_attempt": facts.next_payment_attempt,
        "hosted_invoice_url": facts.hosted_invoice_url,
    }
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=key, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is not None:
        if event_at < case.last_event_at:
            return case  # an older attempt than the one already recorded
        for name, value in values.items():
            setattr(case, name, value)
        case.last_event_at = event_at
        case.save()
        audit.record(
            actor=actor,
            action="dunning.case_updated",
            target=case,
            details={"event": event_id, "attempt_count": facts.attempt_count, "hard_decline": hard},
        )
        return case
    opened_at = min(event_at, timezone.now())
    case = DunningCase.objects.create(
        account=account,
        stripe_customer_id=facts.customer_id,
        stripe_subscription_id=key,
        opened_at=opened_at,
        last_event_at=event_at,
        next_action_at=opened_at,
        **values,
    )
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
            "hard_decline": hard,
        },
    )
    return case


@transaction.atomic
def case_record_payment_error(
    *, intent: dict, event_id: str, event_at: datetime, actor: User | None = None
) -> DunningCase | None:
    """`payment_intent.payment_failed`: in the current API the decline code
    lives on the PaymentIntent, not the invoice. Add it to the customer's
    open case (hard decline if Stripe also stopped retrying). Safe to run twice."""
    error = intent.get("last_payment_error")
    customer_id = _id(intent.get("customer"))
    if not isinstance(error, dict) or not customer_id:
        return None
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_customer_id=customer_id, status=DunningCase.Status.PENDING)
        .order_by("-opened_at")
        .first()
    )
    # Only the attempt that opened or last updated the case, not an old one.
    if case is None or event_at < case.opened_at - timedelta(hours=1):
        return None
    code = str(error.get("code") or "")[:100]
    decline = str(error.get("decline_code") or "")[:100]
    reason = str(error.get("message") or decline or code)[:500]
    hard = case.next_payment_attempt is None and decline in HARD_DECLINE_CODES
    if (case.failure_code, case.decline_code, case.failure_reason, case.hard_decline) == (code, decline, reason, hard):
        return case
    case.failure_code, case.decline_code, case.failure_reason, case.hard_decline = code, decline, reason, hard
    case.save(update_fields=["failure_code", "decline_code", "failure_reason", "hard_decline", "updated_at"])
    audit.record(
        actor=actor,
        action="dunning.case_updated",
        target=case,
        details={"event": event_id, "decline_code": decline, "hard_decline": hard},
    )
    return case


@transaction.atomic
def case_record_payment(
    *, subscription_id: str, event_id: str, event_at: datetime, reason: str, actor: User | None = None
) -> DunningCase | None:
    """`invoice.paid` / `invoice.payment_succeeded` / subscription back to
    `active`: recover the open case. Ignores a payment older than a failure
    already applied. Safe to run twice."""
    if not subscription_id or _is_stale_success(subscription_id, event_at):
        return None
    _standing_set(subscription_id, SubscriptionStanding.Standing.OK, event_at, event_id)
    case = (
        DunningCase.objects.select_for_update()
        .filter(stripe_subscription_id=subscription_id, status=DunningCase.Status.PENDING)
        .first()
    )
    if case is None:
        return None
    case.last_event_at = max(case.last_event_at, event_at)
    _recover(case=case, reason=reason, details={"event": event_id}, actor=actor)
    return case


@transaction.atomic
def case_record_cancellation(
    *, subscription_id: str, event_id: str, event_at: datetime, customer_id: str = "", actor: User | None = None
) -> DunningCase | None:
    """`customer.subscription.deleted`: close the open case as canceled and
    mark the customer's account canceled (a Levqor account has one
    subscription). Safe to run twice."""
    if not subscription_id:
        return None
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
        return None
    now = timezone.now()
    case.status = DunningCase.Status.CANCELED
    case.closed_at = now
    case.next_action_at = None
    case.last_event_at = max(case.last_event_at, event_at)
    case.save()
    audit.record(actor=actor, action="dunning.case_canceled", target=case, details={"event": event_id})
    return case


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
    _claim_notice(case=case, kind=DunningNotice.Kind.RECOVERED)


def _claim_notice(*, case: DunningCase, kind: str) -> DunningNotice | None:
    """Insert the (case, kind) claim; None if it exists already. Delivery is
    queued after commit; an undelivered claim is re-sent by the sweep."""
    try:
        with transaction.atomic():
            notice = DunningNotice.objects.create(case=case, kind=kind, lease_until=timezone.now() + NOTICE_LEASE)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: notices_enqueue([notice.pk]))
    return notice


def notices_enqueue(notice_ids: list[int]) -> None:
    """Hand claimed emails to django-q2 workers. Never raises: if the broker
    is down the claims stay unsent and the sweep delivers them after the lease."""
    from django_q.tasks import async_task

    try:
        async_task("billing.tasks.deliver_notices", notice_ids, task_name=f"dunning-emails-{notice_ids[0]}")
    except Exception:
        logger.exception("could not run or enqueue %d dunning emails; the sweep will", len(notice_ids))


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
    for notice_id in selectors.notice_ids_unsent(now=timezone.now()):
        if dry_run:
            result.redelivered += 1
        elif notice_deliver(notice_id=notice_id):
            result.redelivered += 1
    return result


# --- Email delivery ------------------------------------------------------------------------------


def _email_context(case: DunningCase, user: User) -> dict:
    billing_url = settings.LEVQOR_BASE_URL + reverse("billing:overview")
    return {
        "case": case,
        "user": user,
        "account": case.account,
        "amount": case.amount_display,
        "pay_url": case.hosted_invoice_url or billing_url,
        "billing_url": billing_url,
        "next_retry": case.next_payment_attempt if not case.hard_decline else None,
        "hard_decline": case.hard_decline,
        "sentence": STAGE_SENTENCES.get(case.stage, ""),
    }


def notice_deliver(*, notice_id: int, resend: bool = False) -> bool:
    """Send a claimed email unless it was sent or someone else holds it: a
    conditional update takes a lease first, so one worker sends. A crash
    after the lease leaves `sent_at` empty and the next sweep sends it after
    the lease ends. Returns whether this call sent it."""
    now = timezone.now()
    claimable = DunningNotice.objects.filter(pk=notice_id)
    if resend:
        claimable = claimable.filter(lease_until__lte=now)
    else:
        # The first delivery may go at once; after that only once the
        # previous attempt's lease has run out (it crashed or failed).
        claimable = claimable.filter(Q(deliveries=0) | Q(lease_until__lte=now), sent_at__isnull=True)
    if not claimable.update(lease_until=now + NOTICE_LEASE, deliveries=F("deliveries") + (0 if resend else 1)):
        return False
    notice = DunningNotice.objects.select_related("case", "case__account").get(pk=notice_id)
    case = notice.case
    user = _owner(case.account)
    if user is None:
        DunningNotice.objects.filter(pk=notice_id).update(last_error="The account has no active user to email.")
        return False
    template = TEMPLATES[notice.kind]
    context = _email_context(case, user)
    if notice.kind in STAGE_SENTENCES:
        context["sentence"] = STAGE_SENTENCES[notice.kind]
    try:
        subject, _, _ = emails.render(template, context)
        # Resend (through anymail) de-duplicates on this header for 24 hours,
        # which covers a crash between the provider accepting and our commit.
        key = f"levqor-dunning-{notice.pk}" + (f"-resend-{notice.resends}" if resend else "")
        sent = emails.send(
            template,
            to=user.email,
            context=context,
            purpose="transactional",
            tags=["dunning"],
            headers={"Idempotency-Key": key},
        )
    except Exception as exc:
        logger.exception("dunning email %s for case %s failed", notice.kind, case.pk)
        DunningNotice.objects.filter(pk=notice_id).update(
            last_error=str(exc)[:2000], lease_until=timezone.now() + timedelta(minutes=1)
        )
        return False
    if sent is False:
        # The email policy refused it (not expected for billing notices,
        # which are transactional): nothing to retry.
        DunningNotice.objects.filter(pk=notice_id).update(
            sent_at=notice.sent_at or timezone.now(), last_error="Not sent: refused by the email policy."
        )
        return False
    with transaction.atomic():
        DunningNotice.objects.filter(pk=notice_id).update(sent_at=notice.sent_at or timezone.now(), last_error="")
        EmailLog.objects.create(
            case=case, notice=notice, kind=notice.kind, template=template, to=user.email, subject=subject, resend=resend
        )
        audit.record(
            actor=None,
            action="dunning.email_sent",
            target=case,
            details={"kind": notice.kind, "to": user.email, "resend": resend},
        )
    return True


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
