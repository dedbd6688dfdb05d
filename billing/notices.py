"""Dunning emails: claimed once per (case, kind), delivered after commit,
retried with back-off when the send fails, and never sent once what they
would report is no longer true (a reminder for a case that was paid
meanwhile, "paused" for an account that is not paused).

A claim is a `DunningNotice` row (unique per case and kind). Delivery takes
a lease by conditional update, so one worker sends; `lease_until` is also
the time of the next attempt after a failure."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit, mail
from levqor.accounts.models import User
from levqor.accounts.selectors import account_owner
from levqor.lib.mail import render

from . import selectors, stages
from .models import DunningCase, DunningNotice, EmailLog

logger = logging.getLogger(__name__)

# The stages' reminders share one template (`billing.stages`); this one is its own.
RECOVERED_TEMPLATE = "dunning-recovered"
# How long a worker may hold an email claim before another may deliver it
# (a crash between claiming and sending is detected after this).
NOTICE_LEASE = timedelta(minutes=10)
# After a failed send: 5 min, 10, 20, ... capped at 6 hours between attempts.
RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)


def retry_delay(failures: int) -> timedelta:
    """How long to wait after the `failures`-th failed send (1-based)."""
    return min(RETRY_FIRST * 2 ** max(failures - 1, 0), RETRY_MAX)


def notice_claim(*, case: DunningCase, kind: str) -> DunningNotice | None:
    """Insert the (case, kind) claim; None if it exists already. Delivery is
    queued after commit, so the email leaves only once what it reports has
    committed; an undelivered claim is re-sent by the sweep."""
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
    if not notice_ids:
        return
    try:
        async_task(notices_deliver, notice_ids=notice_ids, task_name=f"dunning-emails-{notice_ids[0]}")
    except Exception:
        logger.exception("could not run or enqueue %d dunning emails; the sweep will", len(notice_ids))


def _email_context(case: DunningCase, user: User, *, kind: str) -> dict:
    """What the email of this kind for this case is rendered with: the
    stage's subject and sentence (for "payment received", the case's stage's)."""
    billing_url = settings.LEVQOR_BASE_URL + reverse("billing:overview")
    stage = stages.by_code(kind) or stages.by_code(case.stage)
    return {
        "case": case,
        "user": user,
        "account": case.account,
        "amount": case.amount_display,
        "pay_url": case.hosted_invoice_url or billing_url,
        "billing_url": billing_url,
        "next_retry": case.next_payment_attempt if not case.hard_decline else None,
        "hard_decline": case.hard_decline,
        "sentence": stage.sentence if stage else "",
        "subject": stage.subject.format(amount=case.amount_display) if stage else "",
    }


def _message(kind: str) -> tuple[str, str]:
    """(template, name) of a claim's email: its stage's reminder, or "payment
    received". The name is what the email log and the provider's tags show."""
    stage = stages.by_code(kind)
    return (stage.template, stage.email_name) if stage else (RECOVERED_TEMPLATE, RECOVERED_TEMPLATE)


def _no_longer_true(notice: DunningNotice) -> str:
    """Why this email would now say something false, or "" if it still holds."""
    case = notice.case
    if notice.kind == DunningNotice.Kind.RECOVERED:
        return "" if case.status == DunningCase.Status.RECOVERED else f"the case is {case.status}, not recovered"
    if case.status != DunningCase.Status.PENDING:
        return f"the case was {case.status} before the reminder went out"
    stage = stages.by_code(notice.kind)
    if stage is not None and stage.pauses and not (case.account and case.account.is_paused):
        return "the account is not paused"
    return ""


def _drop(notice: DunningNotice, reason: str) -> None:
    DunningNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(
        dropped_at=timezone.now(), last_error=f"Not sent: {reason}."[:2000]
    )
    audit.record(
        actor=None, action="dunning.email_dropped", target=notice.case, details={"kind": notice.kind, "why": reason}
    )


def _failed(notice_id: int, error: str) -> None:
    """Record a failed attempt; the next one is due after the back-off."""
    notice = DunningNotice.objects.get(pk=notice_id)
    DunningNotice.objects.filter(pk=notice_id).update(
        last_error=error[:2000], lease_until=timezone.now() + retry_delay(max(notice.deliveries, 1))
    )


def notice_deliver(*, notice_id: int, resend: bool = False) -> bool:
    """Send a claimed email unless it was sent, dropped or someone else holds
    it: a conditional update takes a lease first, so one worker sends. A crash
    after the lease leaves `sent_at` empty and the sweep sends it after the
    lease ends; a failed send is retried after a back-off. An email whose news
    no longer holds (the case was paid meanwhile) is dropped, not sent.
    Returns whether this call sent it."""
    now = timezone.now()
    claimable = DunningNotice.objects.filter(pk=notice_id)
    if resend:
        claimable = claimable.filter(lease_until__lte=now)
    else:
        # The first delivery may go at once; after that only once the
        # previous attempt's lease (or back-off) has run out.
        claimable = claimable.filter(
            Q(deliveries=0) | Q(lease_until__lte=now), sent_at__isnull=True, dropped_at__isnull=True
        )
    if not claimable.update(lease_until=now + NOTICE_LEASE, deliveries=F("deliveries") + (0 if resend else 1)):
        return False
    notice = DunningNotice.objects.select_related("case", "case__account").get(pk=notice_id)
    case = notice.case
    if not resend:
        why = _no_longer_true(notice)
        if why:
            _drop(notice, why)
            return False
    user = account_owner(case.account)
    if user is None:
        _failed(notice_id, "The account has no active user to email.")
        return False
    template, name = _message(notice.kind)
    context = _email_context(case, user, kind=notice.kind)
    try:
        subject, _, _ = render(template, context)
        # Resend (through anymail) de-duplicates on this header for 24 hours,
        # which covers a crash between the provider accepting and our commit.
        key = f"levqor-dunning-{notice.pk}" + (f"-resend-{notice.resends}" if resend else "")
        sent = mail.send(
            template,
            to=user.email,
            context=context,
            purpose="transactional",
            tags=["dunning", name] if name != template else ["dunning"],
            headers={"Idempotency-Key": key},
        )
    except Exception as exc:
        logger.exception("dunning email %s for case %s failed", notice.kind, case.pk)
        _failed(notice_id, f"{type(exc).__name__}: {exc}")
        return False
    if sent is False:
        # The email policy refused it (not expected for billing notices,
        # which are transactional): nothing to retry.
        if not resend:
            _drop(notice, "refused by the email policy")
        return False
    with transaction.atomic():
        DunningNotice.objects.filter(pk=notice_id).update(sent_at=notice.sent_at or timezone.now(), last_error="")
        EmailLog.objects.create(
            case=case, notice=notice, kind=notice.kind, template=name, to=user.email, subject=subject, resend=resend
        )
        audit.record(
            actor=None,
            action="dunning.email_sent",
            target=case,
            details={"kind": notice.kind, "to": user.email, "resend": resend},
        )
    return True


def notices_deliver(*, notice_ids: list[int]) -> int:
    """Deliver claimed emails (see `notice_deliver`). Returns how many this
    call sent. Safe to run twice."""
    return sum(1 for notice_id in notice_ids if notice_deliver(notice_id=notice_id))


def notices_retry_due(*, now) -> int:
    """Deliver every claim whose lease or back-off has run out (a crashed
    worker, a failed send). Returns how many were sent. Safe to run twice."""
    return sum(1 for notice_id in selectors.notice_ids_unsent(now=now) if notice_deliver(notice_id=notice_id))


@transaction.atomic
def notice_retry_now(*, notice: DunningNotice, actor: User | None) -> bool:
    """Staff: try a failed (unsent, not dropped) email again now, skipping
    the back-off. False if it was sent or dropped already."""
    if not DunningNotice.objects.filter(pk=notice.pk, sent_at__isnull=True, dropped_at__isnull=True).update(
        lease_until=timezone.now()
    ):
        return False
    audit.record(actor=actor, action="dunning.email_retry_requested", target=notice.case, details={"kind": notice.kind})
    transaction.on_commit(lambda: notice_deliver(notice_id=notice.pk))  # staff wait for it
    return True
