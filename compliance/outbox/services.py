"""The outbox's verbs: queue an email once, deliver it once, retry it with
back-off, and let staff retry, resend or close it.

Every email goes through here:

    email_queue(
        kind="support.sla-decision", about=sla_request, stage="approved",
        template="support-sla-decision", to=user.email, context={...},
    )

inserts one `OutboundEmail` row, unique per (kind, about, stage): a second
call for the same triple (a retried webhook, a second worker, a re-run
sweep) inserts nothing and returns None. After the caller's transaction
commits, a django-q2 task delivers it. Delivery takes a lease by
conditional UPDATE, so one worker sends; the provider gets a stable
`Idempotency-Key` header, which covers a crash between its acceptance and
our commit. A failed send is retried after 5 minutes, 10, 20, ... (capped at
6 hours) up to `LEVQOR_EMAIL_MAX_ATTEMPTS` attempts; then it is "failed" and
shown to staff, who can retry it or mark it handled.
"""

import hashlib
import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit, mail

from . import kinds
from .models import OutboundEmail, Suppression

logger = logging.getLogger(__name__)

# How long one worker may hold an email before another may deliver it (a
# crash between claiming and sending is noticed after this).
LEASE = timedelta(minutes=10)
RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)
# Due emails one sweep run delivers (the next run takes the rest).
SWEEP_BATCH = 500
# Where a stored context keeps its references to records (see `email_queue`).
OBJECTS = "_objects"

Status = OutboundEmail.Status


def max_attempts() -> int:
    return settings.LEVQOR_EMAIL_MAX_ATTEMPTS


def retry_delay(failures: int) -> timedelta:
    """How long to wait after the `failures`-th failed attempt (1-based)."""
    return min(RETRY_FIRST * 2 ** max(failures - 1, 0), RETRY_MAX)


def about_key(about: models.Model | tuple[str, str | int]) -> tuple[str, str]:
    """("app_label.model", "pk") of what an email is about: a model instance,
    or an explicit (type, id) pair for something that is not a row."""
    if isinstance(about, models.Model):
        return about._meta.label_lower, str(about.pk)
    about_type, about_id = about
    return str(about_type), str(about_id)


def email_queue(
    *,
    kind: str,
    about: models.Model | tuple[str, str | int],
    template: str,
    stage: str = "",
    to: str = "",
    context: dict | None = None,
    purpose: str = "transactional",
    topic: str = "",
    tags: list[str] | None = None,
    headers: dict | None = None,
    sensitive: bool = False,
    forget_recipient: bool = False,
    requested: bool = False,
    objects: dict[str, models.Model | tuple[str, str | int]] | None = None,
) -> OutboundEmail | None:
    """Queue one email, once per (kind, about, stage); None if it was queued
    before. Sent after the caller's transaction commits (nothing is sent for
    work that rolls back). `context` is stored, so it must be JSON; records
    the template needs go in `objects` (stored as references, read again at
    delivery, so the email shows them as they are then), and a kind with a
    `prepare` hook can add more. `to` may be left empty when the hook
    decides the recipient."""
    about_type, about_id = about_key(about)
    context = dict(context or {})
    if objects:
        context[OBJECTS] = {name: about_key(obj) for name, obj in objects.items()}
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                kind=kind,
                about_type=about_type,
                about_id=about_id,
                stage=str(stage)[:80],
                template=template,
                to=to,
                context=context,
                purpose=purpose,
                topic=topic,
                tags=list(tags or []),
                headers=dict(headers or {}),
                sensitive=sensitive,
                forget_recipient=forget_recipient,
                requested=requested,
            )
    except IntegrityError:
        return None
    email_id = email.pk
    transaction.on_commit(lambda: emails_enqueue([email_id]))
    return email


def emails_queue_many(*, kind: str, emails: list[dict]) -> list[int]:
    """Queue many emails of one kind in one insert (a sweep's batch), each
    once per (kind, about, stage) as with `email_queue`: one already queued
    is left as it is. Each item has `about` and `template`, and may have
    `stage`, `to`, `context`, `objects` (records as instances or (label, pk)
    pairs), `tags`, `headers`, `purpose`. Delivered after commit in
    one task; returns the ids of the emails still waiting for it."""
    if not emails:
        return []
    rows = []
    for item in emails:
        about_type, about_id = about_key(item["about"])
        context = dict(item.get("context") or {})
        if item.get("objects"):
            context[OBJECTS] = {name: about_key(obj) for name, obj in item["objects"].items()}
        rows.append(
            OutboundEmail(
                kind=kind,
                about_type=about_type,
                about_id=about_id,
                stage=str(item.get("stage", ""))[:80],
                template=item["template"],
                to=item.get("to", ""),
                context=context,
                purpose=item.get("purpose", "transactional"),
                tags=list(item.get("tags") or []),
                headers=dict(item.get("headers") or {}),
            )
        )
    OutboundEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    keys = {(row.about_type, row.about_id, row.stage) for row in rows}
    waiting = OutboundEmail.objects.filter(
        kind=kind,
        about_type__in={key[0] for key in keys},
        about_id__in={key[1] for key in keys},
        status=Status.QUEUED,
        attempts=0,
    ).values_list("pk", "about_type", "about_id", "stage")
    ids = [pk for pk, *key in waiting if tuple(key) in keys]
    transaction.on_commit(lambda: emails_enqueue(ids))
    return ids


def emails_enqueue(email_ids: list[int]) -> None:
    """Hand queued emails to django-q2. Never raises: if the broker is down
    they stay queued and the sweep (`emails_retry_due`) sends them."""
    if not email_ids:
        return
    try:
        async_task(emails_deliver, email_ids=email_ids, task_name=f"emails-{email_ids[0]}")
    except Exception:
        logger.exception("could not enqueue %d emails; the outbox sweep will send them", len(email_ids))


def emails_deliver(*, email_ids: list[int]) -> int:
    """Deliver queued emails (see `email_deliver`); returns how many this call sent."""
    return sum(1 for email_id in email_ids if email_deliver(email_id=email_id))


def _live_context(stored: dict) -> dict:
    """The stored context with its record references read back; a record
    deleted meanwhile means the email has nothing left to say."""
    context = {name: value for name, value in stored.items() if name != OBJECTS}
    for name, (label, pk) in (stored.get(OBJECTS) or {}).items():
        obj = apps.get_model(label).objects.filter(pk=pk).first()
        if obj is None:
            raise kinds.Drop(f"its {name} ({label} #{pk}) no longer exists")
        context[name] = obj
    return context


def _claim(email_id: int, now: datetime, *, resend: bool) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    rows = OutboundEmail.objects.filter(free, pk=email_id)
    if resend:
        return bool(rows.filter(status=Status.SENT).update(lease_until=now + LEASE))
    return bool(
        rows.filter(status=Status.QUEUED, next_attempt_at__lte=now).update(
            lease_until=now + LEASE, attempts=F("attempts") + 1
        )
    )


def _close(email: OutboundEmail, status: str, reason: str, now: datetime) -> None:
    updates = {"status": status, "last_error": reason[:2000], "lease_until": None, "closed_at": now}
    if email.sensitive:
        updates["context"] = {}
    if email.forget_recipient:
        updates["to"] = ""
        if email.to:
            address_suppress(address=email.to, reason=Suppression.Reason.ERASURE)
    OutboundEmail.objects.filter(pk=email.pk).update(**updates)


def _failed(email: OutboundEmail, error: str, now: datetime) -> None:
    """Record a failed attempt: try again after the back-off, or give up
    (staff see it) after the last attempt."""
    logger.warning("email %s (%s) attempt %d failed: %s", email.pk, email.kind, email.attempts, error)
    if email.attempts >= max_attempts():
        _close(email, Status.FAILED, error, now)
        return
    OutboundEmail.objects.filter(pk=email.pk).update(
        last_error=error[:2000], lease_until=None, next_attempt_at=now + retry_delay(email.attempts)
    )


def email_deliver(*, email_id: int, resend: bool = False, now: datetime | None = None) -> bool:
    """Send one email if it is due and nobody else holds it; returns whether
    this call sent it. Safe to run twice and on two workers at once. With
    `resend`, send a sent email again (staff asked) without changing its state."""
    now = now or timezone.now()
    if not _claim(email_id, now, resend=resend):
        return False
    email = OutboundEmail.objects.get(pk=email_id)
    to = email.to
    prepare = kinds.get(email.kind).prepare
    try:
        context = _live_context(email.context)
        prepared = prepare(email, resend=resend) if prepare is not None else None
    except kinds.Drop as why:
        if resend:
            OutboundEmail.objects.filter(pk=email.pk).update(lease_until=None)
            return False
        _close(email, Status.DROPPED, f"Not sent: {why}.", now)
        audit.record(
            actor=None,
            action="email.dropped",
            target_type=email.about_type,
            target_id=email.about_id,
            details={"email": email.pk, "kind": email.kind, "stage": email.stage, "why": str(why)},
        )
        return False
    if prepared is not None:
        to, context = prepared.to or to, {**context, **prepared.context}
    if not to:
        _failed(email, "No recipient: the account has no active user with an email address.", now)
        return False
    if not email.requested and suppressed(to):
        _close(email, Status.SKIPPED, "Not sent: the address is on the suppression list.", now)
        return False
    key = f"levqor-email-{email.pk}" + (f"-resend-{email.resends + 1}" if resend else "")
    try:
        subject = mail.send(
            email.template,
            to=to,
            context=context,
            purpose=email.purpose,
            topic=email.topic or None,
            tags=email.tags,
            # Resend (through anymail) de-duplicates on this header for 24
            # hours: a crash after it accepted, before we commit, sends once.
            headers={**email.headers, "Idempotency-Key": key},
        )
    except Exception as exc:  # the provider or the network: recorded, retried, then shown to staff
        if resend:
            logger.warning("resend of email %s failed: %s", email.pk, exc)
            OutboundEmail.objects.filter(pk=email.pk).update(
                lease_until=None, last_error=f"Resend failed: {exc}"[:2000]
            )
            return False
        _failed(email, f"{type(exc).__name__}: {exc}", now)
        return False
    if subject is None:
        if not resend:
            _close(email, Status.SKIPPED, "Not sent: the recipient objected or has not consented.", now)
        return False
    _sent(email, to=to, subject=subject, resend=resend)
    return True


@transaction.atomic
def _sent(email: OutboundEmail, *, to: str, subject: str, resend: bool) -> None:
    now = timezone.now()
    updates = {"lease_until": None, "to": to, "subject": subject[:300], "last_error": ""}
    if resend:
        updates["resends"] = F("resends") + 1
    else:
        updates.update(status=Status.SENT, sent_at=now, closed_at=now)
    if email.sensitive:
        updates["context"] = {}
    if email.forget_recipient:
        updates["to"] = ""
        address_suppress(address=to, reason=Suppression.Reason.ERASURE)
    OutboundEmail.objects.filter(pk=email.pk).update(**updates)
    audit.record(
        actor=None,
        action="email.resent" if resend else "email.sent",
        target_type=email.about_type,
        target_id=email.about_id,
        details={"email": email.pk, "kind": email.kind, "stage": email.stage, "template": email.template},
    )


def emails_retry_due(*, now: datetime | None = None) -> int:
    """Every minute: deliver what is due (a retry whose back-off ran out, an
    email the queue lost, a lease a crashed worker left). Returns how many
    were sent. Safe to run twice."""
    now = now or timezone.now()
    due = (
        OutboundEmail.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(1 for email_id in list(due) if email_deliver(email_id=email_id, now=now))


@transaction.atomic
def email_retry_now(*, email: OutboundEmail, actor) -> bool:
    """Staff: try a failed or waiting email again now, skipping the back-off
    (a failed one gets one more attempt). False if it was sent or closed
    otherwise. Audited."""
    now = timezone.now()
    retryable = OutboundEmail.objects.filter(pk=email.pk, status__in=[Status.QUEUED, Status.FAILED], handled_note="")
    if not retryable.update(
        status=Status.QUEUED,
        next_attempt_at=now,
        lease_until=None,
        closed_at=None,
        attempts=models.Case(
            models.When(status=Status.FAILED, then=models.Value(max_attempts() - 1)),
            default=F("attempts"),
            output_field=models.PositiveIntegerField(),
        ),
    ):
        return False
    audit.record(
        actor=actor,
        action="email.retry_requested",
        target_type=email.about_type,
        target_id=email.about_id,
        details={"email": email.pk, "kind": email.kind, "stage": email.stage},
    )
    transaction.on_commit(lambda: email_deliver(email_id=email.pk))  # staff wait for the outcome
    return True


def email_resend(*, email: OutboundEmail, actor) -> bool:
    """Staff: send a sent email again ("I never got it"), under the same
    lease, with a new idempotency key. Audited; returns whether it went.
    Not for an email whose secret link was forgotten once sent (a sign-in
    or download link): the sender makes a new one instead."""
    with transaction.atomic():
        if not OutboundEmail.objects.filter(pk=email.pk, status=Status.SENT, sensitive=False).exists():
            return False
        audit.record(
            actor=actor,
            action="email.resend_requested",
            target_type=email.about_type,
            target_id=email.about_id,
            details={"email": email.pk, "kind": email.kind, "stage": email.stage},
        )
    return email_deliver(email_id=email.pk, resend=True)


@transaction.atomic
def emails_mark_handled(*, ids: list[int], actor, note: str = "") -> int:
    """Staff close failed emails by hand (told the person another way, or the
    address was wrong). They leave "needs attention". Audited; safe twice."""
    failed = list(OutboundEmail.objects.select_for_update().filter(pk__in=ids, status=Status.FAILED, handled_note=""))
    label = (note or f"handled by {actor.get_username()}")[:200]
    for email in failed:
        OutboundEmail.objects.filter(pk=email.pk).update(handled_note=label)
        audit.record(
            actor=actor,
            action="email.failure_handled",
            target_type=email.about_type,
            target_id=email.about_id,
            details={"email": email.pk, "kind": email.kind, "stage": email.stage},
        )
    return len(failed)


# --- Suppression ----------------------------------------------------------------------


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def suppressed(address: str) -> bool:
    return Suppression.objects.filter(address_hash=address_hash(address)).exists()


def address_suppress(*, address: str, reason: str, note: str = "", actor=None) -> bool:
    """Send nothing more to this address (but what the person asks for at
    the moment). Returns whether it was newly added; audited when it was."""
    _, created = Suppression.objects.get_or_create(
        address_hash=address_hash(address), defaults={"reason": reason, "note": note[:200]}
    )
    if created:
        audit.record(
            actor=actor,
            action="email.address_suppressed",
            target_type="compliance.suppression",
            target_id=address_hash(address)[:16],
            details={"reason": reason},
        )
    return created


@transaction.atomic
def suppression_remove(*, suppression: Suppression, actor) -> None:
    """Staff allow email to an address again. Audited."""
    audit.record(
        actor=actor,
        action="email.address_unsuppressed",
        target_type="compliance.suppression",
        target_id=suppression.address_hash[:16],
        details={"reason": suppression.reason},
    )
    suppression.delete()


# --- Personal data: DSAR export, erasure, retention ------------------------------------


def email_rows(*, address: str):
    """What was sent (or queued) to one address, for a data export: no
    context (it may hold links meant for that inbox only)."""
    rows = OutboundEmail.objects.filter(to__iexact=address.strip()).order_by("created_at", "pk")
    for email in rows.iterator(chunk_size=500):
        yield {
            "queued_at": email.created_at,
            "kind": email.kind,
            "template": email.template,
            "subject": email.subject,
            "status": email.status,
            "sent_at": email.sent_at,
            "resends": email.resends,
            "purpose": email.purpose,
        }


def emails_forget_address(*, address: str) -> dict:
    """Erasure: close anything still queued to this address (nothing more is
    sent) and blank the address, subject and context of every email to it.
    The rows stay, without the person, so nothing is sent twice later."""
    address = address.strip()
    if not address:
        return {"emails_cancelled": 0, "emails_anonymised": 0}
    now = timezone.now()
    rows = OutboundEmail.objects.filter(to__iexact=address)
    cancelled = rows.filter(status=Status.QUEUED).update(
        status=Status.DROPPED, closed_at=now, lease_until=None, last_error="Not sent: the person's data was erased."
    )
    anonymised = rows.update(to="", subject="", context={}, headers={})
    return {"emails_cancelled": cancelled, "emails_anonymised": anonymised}


def emails_prune(*, cutoff: datetime, dry_run: bool) -> int:
    """Retention ("email_log"): blank the address, subject and context of
    emails closed before `cutoff`. The rows (kind, object, stage, state)
    stay as claims, so an old email can never be queued again."""
    old = OutboundEmail.objects.filter(closed_at__lt=cutoff).exclude(to="", subject="", context={})
    if dry_run:
        return old.count()
    return old.update(to="", subject="", context={}, headers={})
