"""The Stripe credit of an approved SLA credit request: applied exactly once,
retried with backoff when it fails, retried now or canceled by staff.

Exactly once: every attempt first claims the row by conditional update (one
worker at a time; a lapsed claim can be taken over), and billing asks Stripe
with an idempotency key that is also stored on the transaction, so a retry
after a crash finds the first credit instead of making a second one.

No false words: the decision email that mentions the credit is queued only
in the transaction that stores Stripe's reference (`_confirmed_email`).
"""

import logging
from datetime import datetime, timedelta

import stripe
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from billing import credits as billing_credits
from compliance import audit
from levqor.accounts.models import User

from .. import selectors
from ..models import CreditErrorKind, CreditState, SlaCreditRequest
from ..rules import CLAIM_LEASE
from .common import _customer_email, _email, _url

logger = logging.getLogger(__name__)

# Backoff after the n-th failed attempt: 5, 10, 20, 40, 80, 160, 320 min (capped
# at 6 h); after the 8th failure the credit stays "failed" for staff.
CREDIT_RETRY_BASE = timedelta(minutes=5)
CREDIT_RETRY_MAX_DELAY = timedelta(hours=6)
CREDIT_MAX_ATTEMPTS = 8
# Failures that may pass by themselves; a refusal will not, so it waits for staff.
RETRYABLE = (CreditErrorKind.UNREACHABLE, CreditErrorKind.API_ERROR)


def credit_retry_delay(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts (1 → 5 minutes, doubling)."""
    return min(CREDIT_RETRY_BASE * 2 ** max(attempts - 1, 0), CREDIT_RETRY_MAX_DELAY)


def credit_error_describe(exc: Exception) -> tuple[str, str]:
    """(kind, words for staff) for a failed credit: a connection error or
    timeout is "could not reach Stripe", a 4xx answer is "Stripe refused:
    <reason>", a 5xx/429 answer is a Stripe API error."""
    cause = exc.__cause__ if isinstance(exc.__cause__, stripe.StripeError) else exc
    if isinstance(cause, stripe.APIConnectionError):
        return (
            CreditErrorKind.UNREACHABLE,
            "Could not reach Stripe (connection error or timeout): no answer, so the credit was not confirmed.",
        )
    if not isinstance(cause, stripe.StripeError):
        return CreditErrorKind.INVALID, f"Not sent to Stripe: {exc}"[:500]
    error = getattr(cause, "error", None)
    code = getattr(cause, "code", None) or getattr(error, "code", None) or ""
    message = (getattr(error, "message", None) or cause.user_message or str(cause) or type(cause).__name__).strip()
    status = cause.http_status or 0
    if status == 429 or status >= 500 or not status:
        detail = f"HTTP {status}" if status else type(cause).__name__
        return CreditErrorKind.API_ERROR, f"Stripe API error ({detail}{', ' + code if code else ''}): {message}"[:500]
    return CreditErrorKind.REFUSED, f"Stripe refused: {message}{f' ({code})' if code else ''}"[:500]


def credit_queue(request: SlaCreditRequest) -> None:
    """After commit, hand a credit that is owed and due to the task queue."""
    if request.status == SlaCreditRequest.Status.APPROVED and request.credit_state in SlaCreditRequest.CREDIT_DUE:
        request_id = request.pk
        transaction.on_commit(lambda: _enqueue(request_id))


def _enqueue(request_id: int) -> None:
    try:
        async_task(sla_credit_apply, request_id=request_id, task_name=f"support-sla-credit-{request_id}")
    except Exception:
        logger.exception("could not enqueue SLA credit %s; the retry job will apply it", request_id)


def _claim(request_id: int, now: datetime, *, states=SlaCreditRequest.CREDIT_DUE, due: bool = True) -> bool:
    """Take the row for one attempt: exactly one worker wins (conditional UPDATE)."""
    rows = SlaCreditRequest.objects.filter(
        pk=request_id,
        status=SlaCreditRequest.Status.APPROVED,
        stripe_credit_id="",
        credit_amount_minor__gt=0,
        credit_state__in=states,
    ).filter(Q(credit_claimed_at__isnull=True) | Q(credit_claimed_at__lt=now - CLAIM_LEASE))
    if due:
        rows = rows.filter(Q(credit_next_attempt_at__isnull=True) | Q(credit_next_attempt_at__lte=now))
    return rows.update(credit_claimed_at=now) == 1


def _confirmed_email(request: SlaCreditRequest) -> None:
    """The decision email with the credit, once, now that Stripe confirmed it."""
    _email(
        template="support-sla-credit-decision",
        about=request,
        stage="credit-applied",
        to=_customer_email(request.account, request.user),
        context={
            "request_id": request.pk,
            "period": request.period_label,
            "status": request.status,
            "status_label": request.get_status_display(),
            "credit": request.credit_display,
            "stripe_reference": request.stripe_credit_id,
            "notes": request.notes_to_customer,
            "url": _url("support:sla_credit_detail", request.pk),
        },
    )


def sla_credit_apply(*, request_id: int, now: datetime | None = None) -> str | None:
    """Apply an approved request's credit in Stripe, once, if it is due:
    claim the row, call billing (idempotency key = the request), then either
    store Stripe's reference and email the customer, or record exactly what
    failed and when the next attempt is. Returns the Stripe id, or None when
    nothing was due, another worker holds it, or the attempt failed.
    Safe to run twice and on several workers."""
    now = now or timezone.now()
    if not _claim(request_id, now):
        return None
    return _attempt(request_id, now)


def _attempt(request_id: int, now: datetime) -> str | None:
    request = SlaCreditRequest.objects.select_related("account", "user").get(pk=request_id)
    try:
        reference = billing_credits.customer_balance_credit(
            account=request.account,
            amount_minor=request.credit_amount_minor,
            currency=request.credit_currency,
            description=f"Levqor SLA credit #{request.pk} for {request.period_label}",
            idempotency_key=f"levqor-sla-credit-{request.pk}",
        )
    except billing_credits.CreditError as exc:
        _record_failure(request, exc, now)
        return None
    with transaction.atomic():
        stored = SlaCreditRequest.objects.filter(pk=request_id, stripe_credit_id="").update(
            stripe_credit_id=reference,
            credit_state=CreditState.APPLIED,
            credit_applied_at=timezone.now(),
            credit_claimed_at=None,
            credit_next_attempt_at=None,
            credit_error="",
            credit_error_kind="",
        )
        if not stored:
            return None
        request.refresh_from_db()
        audit.record(
            actor=None,
            action="support.sla_credit.credited",
            target=request,
            details={"stripe_reference": reference, "amount_minor": request.credit_amount_minor},
        )
        _confirmed_email(request)
    return reference


def _record_failure(request: SlaCreditRequest, exc: Exception, now: datetime) -> None:
    kind, error = credit_error_describe(exc)
    attempts = request.credit_attempts + 1
    retry = kind in RETRYABLE and attempts < CREDIT_MAX_ATTEMPTS
    next_at = now + credit_retry_delay(attempts) if retry else None
    state = CreditState.RETRYING if retry else CreditState.FAILED
    with transaction.atomic():
        SlaCreditRequest.objects.filter(pk=request.pk, stripe_credit_id="").update(
            credit_state=state,
            credit_attempts=F("credit_attempts") + 1,
            credit_next_attempt_at=next_at,
            credit_failed_at=now,
            credit_error=error,
            credit_error_kind=kind,
            credit_claimed_at=None,
        )
        audit.record(
            actor=None,
            action="support.sla_credit.credit_failed",
            target=request,
            details={
                "kind": kind,
                "error": error,
                "attempt": attempts,
                "next_attempt_at": next_at,
                "state": state,
            },
        )
    logger.warning("SLA credit #%s attempt %s failed (%s); state %s", request.pk, attempts, kind, state)


def sla_credits_retry(*, now: datetime | None = None, limit: int = 50) -> int:
    """The scheduled job: attempt every owed credit whose next attempt is due.
    Returns how many were applied. Safe to run twice and on several workers
    (each attempt claims its row first)."""
    now = now or timezone.now()
    ids = list(selectors.sla_credits_due(now=now).values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if sla_credit_apply(request_id=pk, now=now))


def sla_credit_retry_now(*, request: SlaCreditRequest, actor: User | None, now: datetime | None = None) -> str | None:
    """Staff: attempt a failed (or scheduled) credit now, whatever its backoff
    or attempts so far. Audited. Returns the Stripe id, or None when it failed
    again (recorded) or there is nothing to retry (applied, canceled, or a
    worker is applying it right now)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _claim(request.pk, now, states=(*SlaCreditRequest.CREDIT_DUE, CreditState.FAILED), due=False):
            return None
        audit.record(
            actor=actor,
            action="support.sla_credit.retry_requested",
            target=request,
            details={"attempts_so_far": request.credit_attempts, "previous_error": request.credit_error},
        )
    return _attempt(request.pk, now)


def sla_credit_cancel(*, request: SlaCreditRequest, actor: User | None, now: datetime | None = None) -> bool:
    """Staff: stop trying to credit Stripe for this request. Before it is
    canceled, Stripe is asked whether an earlier attempt made the credit after
    all (a timeout, a worker that died): if so it is recorded as applied, not
    canceled. Audited. Raises ValidationError when it cannot be canceled."""
    now = now or timezone.now()
    if not _claim(request.pk, now, states=(*SlaCreditRequest.CREDIT_DUE, CreditState.FAILED), due=False):
        raise ValidationError("Only a credit not yet applied, and not being applied right now, can be canceled.")
    request = SlaCreditRequest.objects.select_related("account", "user").get(pk=request.pk)
    found = None
    if request.account.stripe_customer_id:
        try:
            # billing's lookup by the idempotency key stored in the transaction's metadata.
            found = billing_credits.customer_balance_credit_find(
                account=request.account, idempotency_key=f"levqor-sla-credit-{request.pk}"
            )
        except stripe.StripeError as exc:
            SlaCreditRequest.objects.filter(pk=request.pk).update(credit_claimed_at=None)
            _kind, error = credit_error_describe(exc)
            raise ValidationError(
                f"Not canceled: Stripe must first confirm that no earlier attempt made the credit. {error}"
            ) from exc
    if found:
        with transaction.atomic():
            SlaCreditRequest.objects.filter(pk=request.pk, stripe_credit_id="").update(
                stripe_credit_id=found,
                credit_state=CreditState.APPLIED,
                credit_applied_at=now,
                credit_claimed_at=None,
                credit_next_attempt_at=None,
                credit_error="",
                credit_error_kind="",
            )
            request.refresh_from_db()
            audit.record(
                actor=actor,
                action="support.sla_credit.credited",
                target=request,
                details={"stripe_reference": found, "found_when_canceling": True},
            )
            _confirmed_email(request)
        raise ValidationError(f"Not canceled: Stripe already has this credit ({found}); it is now recorded as applied.")
    with transaction.atomic():
        SlaCreditRequest.objects.filter(pk=request.pk).update(
            credit_state=CreditState.CANCELED,
            credit_canceled_at=now,
            credit_claimed_at=None,
            credit_next_attempt_at=None,
        )
        audit.record(
            actor=actor,
            action="support.sla_credit.credit_canceled",
            target=request,
            details={"amount_minor": request.credit_amount_minor, "last_error": request.credit_error},
        )
    return True
