"""The audit trail: one function every app calls to record what happened.

    audit.record(actor=request.user, action="account.paused", target=account,
                 details={"reason": "non-payment"})

Call it inside the transaction that makes the change, so the change and its
audit entry commit (or roll back) together. Appends are serialised by a row
lock on `AuditChainHead`, so concurrent writers on several processes or
machines extend one linear chain; the unique `prev_hash` makes a fork
impossible even if that lock were bypassed.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from levqor.lib import correlation

from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
SYSTEM = "system"


def _canonical(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def details_digest(salt: str, details: dict) -> str:
    return hashlib.sha256(f"{salt}|{_canonical(details)}".encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the hashed fields of an event. No personal free text."""
    hashed = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "correlation_id": event.correlation_id,
        "details_digest": event.details_digest,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(_canonical(hashed).encode()).hexdigest()


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            return AuditChainHead.objects.create(pk=1, seq=0, hash=GENESIS)
    except IntegrityError:
        # Another writer created it first; wait for its lock like everyone else.
        return AuditChainHead.objects.select_for_update().get(pk=1)


@transaction.atomic
def record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    details: dict | None = None,
    actor_label: str = "",
    correlation_id: str | None = None,
) -> AuditEvent:
    """Append one event to the audit trail. Not idempotent by itself: call it
    once per change, inside the change's transaction."""
    if not action:
        raise ValueError("An audit event needs an action.")
    if target is not None:
        target_type = target._meta.label_lower
        target_id = target.pk
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser
    if not actor_label:
        actor_label = actor.get_username() if actor is not None else SYSTEM
    # Round-trip through JSON so what is stored is exactly what was digested.
    stored_details = json.loads(_canonical(details or {}))
    salt = secrets.token_hex(16)

    head = _locked_head()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=timezone.now(),
        actor=actor,
        actor_label=actor_label[:254],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=stored_details,
        details_salt=salt,
        details_digest=details_digest(salt, stored_details),
        correlation_id=correlation_id if correlation_id is not None else correlation.get(),
        prev_hash=head.hash,
    )
    event.hash = event_hash(event)
    event.save()
    AuditChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


def entries_for(obj: models.Model, *related: models.Model, also: models.Q | None = None) -> models.QuerySet:
    """The audit entries about `obj` and about each of `related` (plus any
    matching `also`), oldest first: the audit part of every timeline."""
    query = models.Q()
    for target in (obj, *related):
        query |= models.Q(target_type=target._meta.label_lower, target_id=str(target.pk))
    if also is not None:
        query |= also
    return AuditEvent.objects.filter(query).order_by("seq")


@transaction.atomic
def blank_details(*, events: models.QuerySet) -> int:
    """Erase the personal parts of events (details, their salt, the actor's
    label) without breaking the chain. Safe to run twice."""
    return events.filter(details_erased_at__isnull=True).update(
        details={}, details_salt="", actor_label="", details_erased_at=timezone.now()
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events verified."
        return f"Audit chain broken at #{self.broken_seq} (event id {self.broken_id}): {self.reason}"


def verify(*, chunk_size: int = 2000) -> VerifyResult:
    """Walk the chain from the first event and report the first broken link.
    Reads only; streams rows so memory stays flat."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):

        def broken(reason: str, event=event, checked=checked) -> VerifyResult:
            return VerifyResult(False, checked, event.seq, event.pk, reason)

        if event.seq != expected_seq:
            return broken(f"expected sequence #{expected_seq}; events are missing")
        if event.prev_hash != expected_prev:
            return broken("its previous-hash does not match the hash of the event before it")
        if event_hash(event) != event.hash:
            return broken("its contents no longer match its hash")
        if (
            event.details_erased_at is None
            and details_digest(event.details_salt, event.details) != event.details_digest
        ):
            return broken("its details no longer match their digest")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        return VerifyResult(
            False,
            checked,
            head.seq,
            None,
            f"the chain head records #{head.seq}, but the last event is #{expected_seq - 1}; events were removed",
        )
    return VerifyResult(True, checked)
