"""The statutory clock shared by exports and erasure requests: one calendar
month after receipt, extendable by up to two more months while the first runs."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.outbox.services import email_queue

from .. import audit
from .models import add_months


def due_date(received: date) -> date:
    """The statutory deadline: one calendar month after receipt."""
    return add_months(received, 1)


def deadline_fields(requested_at: datetime) -> dict:
    """Receipt time, due date and (unextended) deadline for a new request."""
    due = due_date(timezone.localdate(requested_at))
    return {"requested_at": requested_at, "due_on": due, "deadline_on": due}


def deadline_extend(*, obj, months: int, reason: str, actor, kind: str, email: str) -> None:
    """Shared by exports and erasure requests (call inside a transaction on a
    locked row). By up to two more months in total, only while the first
    month runs, with a reason the person is emailed."""
    reason = (reason or "").strip()
    if months not in (1, 2):
        raise ValidationError("Extend by one or two months.")
    if not reason:
        raise ValidationError("Give the reason: it is emailed to the person.")
    if obj.extension_months + months > 2:
        raise ValidationError(f"The deadline can be extended by two months at most (already {obj.extension_months}).")
    if timezone.localdate() > obj.due_on:
        raise ValidationError("The deadline can only be extended while the first month runs.")
    obj.extension_months += months
    obj.deadline_on = add_months(obj.received_on, 1 + obj.extension_months)
    obj.extension_reason = f"{obj.extension_reason}\n{reason}".strip()
    obj.extended_at = timezone.now()
    obj.save(update_fields=["extension_months", "deadline_on", "extension_reason", "extended_at"])
    audit.record(
        actor=actor,
        action=f"dsar.{kind}_deadline_extended",
        target=obj,
        details={"months": months, "reason": reason, "deadline_on": obj.deadline_on.isoformat()},
    )
    email_queue(
        kind="dsar.deadline-extended",
        about=obj,
        stage=f"extension-{obj.extension_months}",
        template="dsar-deadline-extended",
        to=email,
        context={"kind": kind, "reason": reason},
        objects={"request": obj},
    )
