"""Erasure ("delete my data", GDPR art. 17): the person asks, staff approve
or refuse with a reason (emailed), and on approval a task anonymises the
person across every app through the privacy providers, closes the account
(the accounts provider does that) and blanks the personal details of their
audit entries, so the hash chain still verifies."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from compliance.outbox.services import email_queue

from .. import audit
from . import providers
from .deadlines import deadline_extend, deadline_fields
from .models import ErasureRequest

logger = logging.getLogger(__name__)


# --- selectors -------------------------------------------------------------------


def erasure_open_for(*, user) -> ErasureRequest | None:
    return erasures_open().filter(user=user).order_by("-requested_at").first()


def erasure_list(*, user) -> QuerySet:
    return ErasureRequest.objects.filter(user=user).order_by("-requested_at")


def erasures_pending() -> QuerySet:
    return ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING)


def erasures_open() -> QuerySet:
    """Requests not yet answered: awaiting review, or approved and erasing."""
    return ErasureRequest.objects.filter(status__in=[ErasureRequest.Status.PENDING, ErasureRequest.Status.APPROVED])


# --- services ----------------------------------------------------------------------


def _send(name: str, *, request: ErasureRequest, to: str, context: dict | None = None, last: bool = False) -> None:
    """Queue one email about an erasure request, once per template. The last
    one ("your data is erased") forgets the address once it is sent."""
    email_queue(
        kind="dsar.erasure",
        about=request,
        stage=name,
        template=name,
        to=to,
        context=context or {},
        objects={"request": request},
        forget_recipient=last,
    )


@transaction.atomic
def erasure_request(*, user, note: str = "", actor) -> ErasureRequest:
    """Record a "delete my data" request for staff review. One open request
    per person: asking again returns the open one."""
    existing = erasure_open_for(user=user)
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            request = ErasureRequest.objects.create(user=user, note=(note or "").strip()[:2000], **deadline_fields(now))
    except IntegrityError:  # a concurrent request won
        return erasure_open_for(user=user)
    audit.record(
        actor=actor,
        action="erasure.requested",
        target=request,
        details={"user_id": user.pk, "due_on": request.due_on.isoformat()},
    )
    _send("dsar-erasure-received", request=request, to=user.email)
    return request


def _locked(request: ErasureRequest) -> ErasureRequest:
    return ErasureRequest.objects.select_for_update().select_related("user").get(pk=request.pk)


@transaction.atomic
def erasure_refuse(*, request: ErasureRequest, reason: str, actor) -> bool:
    """Refuse a pending request; the reason is emailed to the person."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for refusing: it is emailed to the person.")
    request = _locked(request)
    if request.status != ErasureRequest.Status.PENDING:
        return False
    request.status = ErasureRequest.Status.REFUSED
    request.decided_by, request.decided_at, request.decision_reason = actor, timezone.now(), reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(actor=actor, action="erasure.refused", target=request, details={"reason": reason})
    _send("dsar-erasure-refused", request=request, to=request.user.email, context={"reason": reason})
    return True


@transaction.atomic
def erasure_approve(*, request: ErasureRequest, reason: str = "", actor) -> bool:
    """Approve a pending request and queue the erasure (after commit)."""
    request = _locked(request)
    if request.status != ErasureRequest.Status.PENDING:
        return False
    request.status = ErasureRequest.Status.APPROVED
    request.decided_by, request.decided_at, request.decision_reason = actor, timezone.now(), (reason or "").strip()
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(actor=actor, action="erasure.approved", target=request, details={})
    request_id = request.pk

    def enqueue():
        async_task(erasure_execute, request_id=request_id, task_name=f"erasure-{request_id}")

    transaction.on_commit(enqueue)
    return True


@transaction.atomic
def erasure_extend_deadline(*, request: ErasureRequest, months: int, reason: str, actor) -> ErasureRequest:
    request = _locked(request)
    if request.status not in (ErasureRequest.Status.PENDING, ErasureRequest.Status.APPROVED):
        raise ValidationError("Only an open request's deadline can be extended.")
    deadline_extend(obj=request, months=months, reason=reason, actor=actor, kind="erasure", email=request.user.email)
    return request


def _personal_audit_events(user, *, email: str, account_ids: list) -> QuerySet:
    """Events by or about the person, about their closed account, or whose
    details mention their address (e.g. "account.created" of a shared account)."""
    also = Q(actor_id=user.pk)
    if email:
        also |= Q(details__icontains=email)
    for account_id in account_ids:
        also |= Q(target_type="accounts.account", target_id=str(account_id))
    return audit.entries_for(user, also=also)


def erasure_execute(*, request_id: int, actor=None) -> bool:
    """Erase an approved request's person (queued on approval). Safe to run
    twice; a failure rolls back, is kept on the request for staff (who can
    retry it) and is raised again so the queue shows it."""
    try:
        return _erase(request_id=request_id, actor=actor)
    except Exception as exc:
        # A processor step (e.g. Stripe) that failed reports the steps so far.
        steps = exc.steps if isinstance(exc, providers.ProcessorStepFailed) else None
        erasure_failed(request_id=request_id, error=f"{type(exc).__name__}: {exc}", steps=steps)
        raise


@transaction.atomic
def _erase(*, request_id: int, actor) -> bool:
    """Erase the person across every app, in one transaction. Only an
    approved request is erased, and it ends completed. Raises (and rolls
    back) if a provider fails."""
    request = ErasureRequest.objects.select_for_update().select_related("user").filter(pk=request_id).first()
    if request is None or request.status != ErasureRequest.Status.APPROVED:
        return False
    user = request.user
    email = user.email  # for the confirmation, sent once and never stored again
    summary: dict = {}
    for name, erase in providers.erasers():
        summary[name] = erase(user=user, actor=actor) or {}
    closed = [s.get("account_closed_id") for s in summary.values() if s.get("account_closed_id")]
    blanked = audit.blank_details(events=_personal_audit_events(user, email=email, account_ids=closed))
    summary["audit"] = {"events_blanked": blanked}
    # Each processor step (Stripe: subscriptions canceled, customer deleted, ...), in one list for staff.
    summary["processor_steps"] = [step for part in summary.values() for step in part.get("steps", [])]
    request.status = ErasureRequest.Status.COMPLETED
    request.completed_at = timezone.now()
    request.summary = summary
    request.note = ""
    request.save(update_fields=["status", "completed_at", "summary", "note"])
    # Written after the blanking: this entry names no one, only the request.
    audit.record(actor=actor, action="erasure.completed", target=request, details={"summary": summary})
    _send("dsar-erasure-completed", request=request, to=email, last=True)
    return True


@transaction.atomic
def erasure_failed(*, request_id: int, error: str, steps: list[dict] | None = None) -> None:
    """Mark an approved request failed (the erasure rolled back) with the
    error, and the processor steps reached, kept for staff."""
    changes = {"status": ErasureRequest.Status.FAILED, "error": error[:5000]}
    if steps is not None:
        before = ErasureRequest.objects.filter(pk=request_id).values_list("summary", flat=True).first() or {}
        changes["summary"] = {"processor_steps": steps, "auto_retries": before.get("auto_retries", 0)}
    updated = ErasureRequest.objects.filter(pk=request_id, status=ErasureRequest.Status.APPROVED).update(**changes)
    if updated:
        audit.record(
            actor=None,
            action="erasure.failed",
            target_type="compliance.erasurerequest",
            target_id=request_id,
            details={"error": error[:500], **({"processor_steps": steps} if steps is not None else {})},
        )


@transaction.atomic
def erasure_retry(*, request: ErasureRequest, actor) -> bool:
    """Put a failed erasure back to approved and queue it again."""
    updated = ErasureRequest.objects.filter(pk=request.pk, status=ErasureRequest.Status.FAILED).update(
        status=ErasureRequest.Status.APPROVED, error=""
    )
    if not updated:
        return False
    audit.record(actor=actor, action="erasure.retried", target=request, details={})
    request_id = request.pk

    def enqueue():
        async_task(erasure_execute, request_id=request_id, task_name=f"erasure-{request_id}")

    transaction.on_commit(enqueue)
    return True


def erasures_retry_processor_failures() -> int:
    """Queue again the failed erasures whose failure was a processor step
    (kept in `summary["processor_steps"]`), each at most
    LEVQOR_ERASURE_AUTO_RETRIES times; the rest wait for staff (needs
    attention). Returns how many were queued. Safe to run twice."""
    limit = settings.LEVQOR_ERASURE_AUTO_RETRIES
    queued = 0
    failed = ErasureRequest.objects.filter(status=ErasureRequest.Status.FAILED).exclude(summary={})
    for request in failed.only("pk", "summary"):
        summary = request.summary or {}
        steps = summary.get("processor_steps") or []
        tries = summary.get("auto_retries", 0)
        if not any(step.get("status") == "failed" for step in steps) or tries >= limit:
            continue
        try:
            with transaction.atomic():
                # Counted before queuing: the retry's own failure keeps the count.
                updated = ErasureRequest.objects.filter(pk=request.pk, status=ErasureRequest.Status.FAILED).update(
                    summary={**summary, "auto_retries": tries + 1}
                )
                if updated and erasure_retry(request=request, actor=None):
                    queued += 1
        except Exception:  # a queue running tasks inline raises the erasure's failure here; it is recorded
            logger.warning("erasure %s failed again on its automatic retry", request.pk)
    return queued
