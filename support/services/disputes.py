"""Disputes and Stripe chargebacks (charge.dispute.*), and the evidence-due reminders."""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import credits as billing_credits
from billing.payloads import id_of, stripe_time
from compliance import audit
from levqor.accounts.models import Account, User
from levqor.accounts.selectors import account_for_stripe_customer

from .. import selectors
from ..models import Dispute, DisputeMessage
from .common import _customer_email, _email, _url

logger = logging.getLogger(__name__)

# --- Disputes -------------------------------------------------------------------------


def dispute_check(*, category: str, subject: str, description: str) -> None:
    errors: dict[str, list[str]] = {}
    if category not in Dispute.Category.values:
        errors["category"] = [f"Choose one of: {', '.join(Dispute.Category.values)}."]
    if not (subject or "").strip():
        errors["subject"] = ["Give the dispute a short subject."]
    elif len(subject) > 200:
        errors["subject"] = ["At most 200 characters."]
    if not (description or "").strip():
        errors["description"] = ["Describe the problem and what you would like us to do."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def dispute_open(
    *,
    account: Account,
    user: User | None,
    category: str,
    subject: str,
    description: str,
    actor: User | None,
    actor_label: str = "",
) -> Dispute:
    """A customer opens a dispute. Audited; support emailed, the customer sent a receipt. Raises ValidationError."""
    dispute_check(category=category, subject=subject, description=description)
    dispute = Dispute.objects.create(
        account=account, user=user, category=category, subject=subject.strip(), description=description.strip()
    )
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="support.dispute.opened",
        target=dispute,
        details={"account": account.pk, "category": category, "subject": dispute.subject},
    )
    _email(
        template="support-dispute-received",
        about=dispute,
        to=settings.LEVQOR_SUPPORT_EMAIL,
        context={
            "dispute_id": dispute.pk,
            "account_name": account.name,
            "category": dispute.get_category_display(),
            "subject": dispute.subject,
            "admin_url": _url("admin:support_dispute_change", dispute.pk),
        },
    )
    # The customer's receipt, with the reference they can quote.
    _email(
        template="support-dispute-receipt",
        about=dispute,
        to=_customer_email(account, user),
        context={
            "dispute_id": dispute.pk,
            "category": dispute.get_category_display(),
            "subject": dispute.subject,
            "url": _url("support:dispute_detail", dispute.pk),
        },
    )
    return dispute


@transaction.atomic
def dispute_customer_message(*, dispute: Dispute, user: User | None, body: str, actor) -> DisputeMessage:
    """The customer adds to an open dispute; support is emailed."""
    if not (body or "").strip():
        raise ValidationError({"body": ["Write your message."]})
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if locked.status not in Dispute.OPEN:
        raise ValidationError({"body": ["This dispute is finished; open a new one if you need to."]})
    message = DisputeMessage.objects.create(
        dispute=locked, kind=DisputeMessage.Kind.CUSTOMER, author=user, body=body.strip()
    )
    audit.record(actor=actor, action="support.dispute.customer_message", target=locked, details={"message": message.pk})
    _email(
        template="support-dispute-customer-message",
        about=locked,
        stage=str(message.pk),
        to=settings.LEVQOR_SUPPORT_EMAIL,
        context={
            "dispute_id": locked.pk,
            "subject": locked.subject,
            "admin_url": _url("admin:support_dispute_change", locked.pk),
        },
    )
    return message


@transaction.atomic
def dispute_update(
    *,
    dispute: Dispute,
    status: str | None = None,
    resolution_notes: str | None = None,
    reply: str = "",
    internal_note: str = "",
    actor: User | None,
) -> list[str]:
    """Staff work a dispute: status, resolution notes, a reply the customer
    sees, an internal note they never see. Each change audited; the customer
    emailed on a reply and on a status change. Returns what changed."""
    locked = Dispute.objects.select_for_update(of=("self",)).select_related("account", "user").get(pk=dispute.pk)
    if status is not None and status not in Dispute.Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(Dispute.Status.values)}."]})
    changed: list[str] = []
    to = _customer_email(locked.account, locked.user) if locked.source == Dispute.Source.CUSTOMER else ""
    context = {
        "dispute_id": locked.pk,
        "subject": locked.subject,
        "url": _url("support:dispute_detail", locked.pk),
    }
    if status is not None and status != locked.status:
        previous = locked.status
        locked.status = status
        if status in (Dispute.Status.RESOLVED, Dispute.Status.CLOSED) and locked.resolved_at is None:
            locked.resolved_at = timezone.now()
        elif status in Dispute.OPEN:
            locked.resolved_at = None
        changed.append("status")
        audit.record(
            actor=actor, action="support.dispute.status", target=locked, details={"from": previous, "to": status}
        )
        _email(
            template="support-dispute-status",
            about=locked,
            stage=f"{status}:{uuid.uuid4().hex}",  # every change is news: one email each
            to=to,
            context={
                **context,
                "status_label": locked.get_status_display(),
                "resolution_notes": resolution_notes if resolution_notes is not None else locked.resolution_notes,
            },
        )
    if resolution_notes is not None and resolution_notes != locked.resolution_notes:
        locked.resolution_notes = resolution_notes
        changed.append("resolution_notes")
        audit.record(
            actor=actor, action="support.dispute.resolution_notes", target=locked, details={"notes": resolution_notes}
        )
    if changed:
        locked.save()
    if reply.strip():
        message = DisputeMessage.objects.create(
            dispute=locked, kind=DisputeMessage.Kind.REPLY, author=actor, body=reply.strip()
        )
        changed.append("reply")
        audit.record(actor=actor, action="support.dispute.reply", target=locked, details={"message": message.pk})
        _email(
            template="support-dispute-reply",
            about=locked,
            stage=str(message.pk),
            to=to,
            context={**context, "reply": message.body},
        )
    if internal_note.strip():
        message = DisputeMessage.objects.create(
            dispute=locked, kind=DisputeMessage.Kind.INTERNAL, author=actor, body=internal_note.strip()
        )
        changed.append("internal_note")
        audit.record(
            actor=actor, action="support.dispute.internal_note", target=locked, details={"message": message.pk}
        )
    dispute.refresh_from_db()
    return changed


# --- Chargebacks (charge.dispute.*) --------------------------------------------------------

# Later steps of a dispute's life win a tie on Stripe's one-second clock.
EVENT_RANK = {
    "charge.dispute.created": 1,
    "charge.dispute.updated": 2,
    "charge.dispute.funds_withdrawn": 3,
    "charge.dispute.funds_reinstated": 4,
    "charge.dispute.closed": 5,
}
# https://docs.stripe.com/api/disputes/object#dispute_object-status
STRIPE_STATUS = {
    "warning_needs_response": Dispute.Status.OPEN,
    "needs_response": Dispute.Status.OPEN,
    "warning_under_review": Dispute.Status.IN_REVIEW,
    "under_review": Dispute.Status.IN_REVIEW,
    "won": Dispute.Status.CLOSED,
    "lost": Dispute.Status.CLOSED,
    "warning_closed": Dispute.Status.CLOSED,
    "prevented": Dispute.Status.CLOSED,
}


@transaction.atomic
def chargeback_record(*, dispute: dict, event_id: str, event_type: str, event_at: datetime, livemode: bool) -> Dispute:
    """Create or update the chargeback for a `charge.dispute.*` event. Safe to
    run twice and in any order: an event older than the state already applied
    is only logged on the timeline."""
    stripe_id = dispute.get("id") or ""
    if not stripe_id:
        raise ValueError("A dispute event without a dispute id.")
    record = Dispute.objects.select_for_update().filter(stripe_dispute_id=stripe_id).first()
    created = False
    if record is None:
        customer_id = billing_credits.charge_customer_id(charge=dispute.get("charge"), livemode=livemode)
        account = account_for_stripe_customer(customer_id)
        try:
            with transaction.atomic():
                record = Dispute.objects.create(
                    source=Dispute.Source.CHARGEBACK,
                    stripe_dispute_id=stripe_id,
                    stripe_customer_id=customer_id,
                    account=account,
                    category=Dispute.Category.BILLING,
                    subject=f"Chargeback {stripe_id}",
                )
                created = True
        except IntegrityError:
            pass  # another worker created it first
        record = Dispute.objects.select_for_update().get(stripe_dispute_id=stripe_id)
    rank = EVENT_RANK.get(event_type, 0)
    newer = record.stripe_event_at is None or (event_at, rank) >= (record.stripe_event_at, record.stripe_event_rank)
    seen = {item["id"] for item in record.stripe_events}
    if event_id not in seen:
        record.stripe_events = [
            *record.stripe_events,
            {"id": event_id, "type": event_type, "at": event_at.isoformat(), "applied": newer},
        ]
    if newer:
        previous = (record.stripe_status, record.status)
        evidence = dispute.get("evidence_details") or {}
        record.stripe_charge_id = id_of(dispute.get("charge"))
        record.amount_minor = dispute.get("amount")
        record.currency = (dispute.get("currency") or "").upper()
        record.reason = (dispute.get("reason") or "")[:60]
        record.stripe_status = (dispute.get("status") or "")[:40]
        record.evidence_due_by = stripe_time(evidence.get("due_by"))  # 0 when the bank allows no response
        record.evidence_submission_count = int(evidence.get("submission_count") or 0)
        record.stripe_event_at = event_at
        record.stripe_event_rank = rank
        record.subject = f"Chargeback {record.amount_display}: {record.reason or 'no reason given'}"
        status = STRIPE_STATUS.get(record.stripe_status)
        if status and status != record.status:
            record.status = status
            if status == Dispute.Status.CLOSED:
                record.resolved_at = record.resolved_at or timezone.now()
                record.resolution_notes = (
                    record.resolution_notes or f"Stripe closed the dispute: {record.stripe_status}."
                )
        record.save()
        audit.record(
            actor=None,
            action="support.chargeback.created" if created else "support.chargeback.updated",
            target=record,
            details={
                "event": event_id,
                "type": event_type,
                "stripe_status": [previous[0], record.stripe_status],
                "status": [previous[1], record.status],
                "evidence_due_by": record.evidence_due_by,
            },
        )
    else:
        record.save(update_fields=["stripe_events", "updated_at"])
        audit.record(
            actor=None,
            action="support.chargeback.stale_event",
            target=record,
            details={"event": event_id, "type": event_type},
        )
    if created:
        _email(
            template="support-chargeback-opened",
            about=record,
            to=settings.LEVQOR_SUPPORT_EMAIL,
            context={
                "dispute_id": record.pk,
                "stripe_id": stripe_id,
                "account_name": record.account.name if record.account else "(no account matched)",
                "admin_url": _url("admin:support_dispute_change", record.pk),
            },
        )
    return record


def evidence_reminders_send(*, now: datetime | None = None) -> int:
    """Daily: email support about each chargeback whose evidence is due within
    3 days, claimed once per dispute per day. Returns how many were queued.
    Safe to run twice and on several workers (the unique email key)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    queued = 0
    for dispute in selectors.chargebacks_evidence_due(now=now).select_related("account"):
        with transaction.atomic():
            if _email(
                template="support-evidence-due",
                about=dispute,
                stage=today.isoformat(),  # once a day per chargeback
                to=settings.LEVQOR_SUPPORT_EMAIL,
                context={
                    "dispute_id": dispute.pk,
                    "stripe_id": dispute.stripe_dispute_id,
                    "amount": dispute.amount_display,
                    "reason": dispute.reason,
                    "due_by": timezone.localtime(dispute.evidence_due_by).strftime("%-d %B %Y %H:%M %Z"),
                    "account_name": dispute.account.name if dispute.account else "(no account matched)",
                    "admin_url": _url("admin:support_dispute_change", dispute.pk),
                },
            ):
                audit.record(
                    actor=None,
                    action="support.chargeback.evidence_reminder",
                    target=dispute,
                    details={"day": today.isoformat(), "due_by": dispute.evidence_due_by},
                )
                queued += 1
    return queued
