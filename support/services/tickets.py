"""Support tickets: opening, the thread (customer messages, staff replies,
internal notes), staff triage (status, priority, assignee), merging
duplicates, and replies that arrive by email. The first-response clock is
the account plan's `support_sla_hours` (levqor/plans.py) in calendar hours.

Emails (one outbox row each, see `common.py`):

    support.ticket-received          ticket  ""              (to support: a new ticket)
    support.ticket-opened            ticket  ""              (to the customer: received, first response due by)
    support.ticket-customer-message  ticket  "<message pk>"  (to support)
    support.ticket-reply             ticket  "<message pk>"  (to the customer)
"""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance import audit
from compliance.outbox.services import email_queue
from levqor.accounts.models import Account, User
from levqor.plans import plan_by_code

from ..clock import first_response_due
from ..models import Ticket, TicketMessage
from .common import _customer_email, _url
from .common import email_kind as _kind

SUBJECT_MAX = 200
BODY_MAX = 20000


def ticket_first_response_due(*, plan: str, opened_at: datetime) -> datetime:
    """Opened + the plan's first-response hours, as the locked facts promise (calendar hours)."""
    return first_response_due(plan=plan, opened_at=opened_at)


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write your message."]})
    if len(body) > BODY_MAX:
        raise ValidationError({"body": [f"At most {BODY_MAX} characters."]})
    return body


def ticket_check(*, subject: str, body: str) -> None:
    errors: dict[str, list[str]] = {}
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = ["Give the ticket a short subject."]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [f"At most {SUBJECT_MAX} characters."]
    try:
        _check_body(body)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def reply_address(ticket: Ticket) -> str:
    """The Reply-To of the customer's emails about `ticket` when inbound email is
    configured (support+t<id>.<token>@<inbound domain>), else ""."""
    domain = settings.LEVQOR_SUPPORT_INBOUND_DOMAIN
    if not domain:
        return ""
    local = settings.LEVQOR_SUPPORT_EMAIL.split("@", 1)[0]
    return f"{local}+t{ticket.pk}.{ticket.reply_token}@{domain}"


def _queue(*, template: str, ticket: Ticket, stage: str = "", to: str, context: dict, customer: bool) -> None:
    if not to:
        return
    reply_to = reply_address(ticket) if customer else ""
    email_queue(
        kind=_kind(template),
        about=ticket,
        stage=stage,
        template=template,
        to=to,
        context={"ticket_id": ticket.pk, "subject": ticket.subject, **context},
        headers={"Reply-To": reply_to} if reply_to else None,
    )


@transaction.atomic
def ticket_open(
    *,
    account: Account,
    user: User | None,
    subject: str,
    body: str,
    via: str = "web",
    actor: User | None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Ticket:
    """A customer opens a ticket; its first-response due time is fixed from the
    account's plan. Audited; support and the customer are emailed. Raises ValidationError."""
    ticket_check(subject=subject, body=body)
    opened_at = now or timezone.now()
    plan = plan_by_code(account.plan)
    ticket = Ticket.objects.create(
        account=account,
        user=user,
        subject=subject.strip(),
        opened_via=via,
        plan=plan.code,
        sla_hours=plan.support_sla_hours,
        opened_at=opened_at,
        first_response_due_at=ticket_first_response_due(plan=plan.code, opened_at=opened_at),
    )
    TicketMessage.objects.create(
        ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, author=user, via=via, body=body.strip(), created_at=opened_at
    )
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="support.ticket.opened",
        target=ticket,
        details={"account": account.pk, "subject": ticket.subject, "via": via, "plan": plan.code},
    )
    due = timezone.localtime(ticket.first_response_due_at).strftime("%-d %B %Y %H:%M %Z")
    _queue(
        template="support-ticket-received",
        ticket=ticket,
        to=settings.LEVQOR_SUPPORT_EMAIL,
        context={"account_name": account.name, "due": due, "admin_url": _url("admin:support_ticket_change", ticket.pk)},
        customer=False,
    )
    _queue(
        template="support-ticket-opened",
        ticket=ticket,
        to=_customer_email(account, user),
        context={"due": due, "sla_hours": plan.support_sla_hours, "url": _url("support:ticket_detail", ticket.pk)},
        customer=True,
    )
    return ticket


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("account", "user").get(pk=ticket.pk)


@transaction.atomic
def ticket_customer_reply(
    *,
    ticket: Ticket,
    user: User | None,
    body: str,
    via: str = "web",
    email_message_id: str | None = None,
    actor: User | None,
    actor_label: str = "",
) -> TicketMessage | None:
    """The customer adds to their ticket; a ticket waiting on them or resolved
    opens again. Support is emailed. A closed or merged ticket refuses
    (ValidationError). An emailed reply seen before returns None."""
    body = _check_body(body)
    locked = _locked(ticket)
    if locked.merged_into_id is not None:
        raise ValidationError({"body": [f"This ticket was merged into #{locked.merged_into_id}; reply there."]})
    if locked.status == Ticket.Status.CLOSED:
        raise ValidationError({"body": ["This ticket is closed; open a new one if you need to."]})
    try:
        with transaction.atomic():
            message = TicketMessage.objects.create(
                ticket=locked,
                kind=TicketMessage.Kind.CUSTOMER,
                author=user,
                via=via,
                body=body,
                email_message_id=email_message_id or None,
            )
    except IntegrityError:
        return None  # the same inbound email, delivered again
    previous = locked.status
    if previous != Ticket.Status.OPEN:
        locked.status = Ticket.Status.OPEN
        locked.closed_at = None
        locked.save(update_fields=["status", "closed_at", "updated_at"])
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="support.ticket.customer_message",
        target=locked,
        details={"message": message.pk, "via": via, "status_from": previous, "status_to": locked.status},
    )
    _queue(
        template="support-ticket-customer-message",
        ticket=locked,
        stage=str(message.pk),
        to=settings.LEVQOR_SUPPORT_EMAIL,
        context={"admin_url": _url("admin:support_ticket_change", locked.pk)},
        customer=False,
    )
    return message


@transaction.atomic
def ticket_reply(
    *, ticket: Ticket, body: str, status: str = Ticket.Status.WAITING, actor: User, now: datetime | None = None
) -> TicketMessage:
    """Staff reply to the customer: the first reply stops the first-response
    clock; the ticket moves to `status` (waiting on the customer by default).
    Audited; the customer is emailed."""
    body = _check_body(body)
    if status not in Ticket.Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(Ticket.Status.values)}."]})
    locked = _locked(ticket)
    if locked.merged_into_id is not None:
        raise ValidationError({"body": [f"This ticket was merged into #{locked.merged_into_id}; reply there."]})
    at = now or timezone.now()
    message = TicketMessage.objects.create(
        ticket=locked, kind=TicketMessage.Kind.REPLY, author=actor, body=body, created_at=at
    )
    fields = ["updated_at"]
    details: dict = {"message": message.pk}
    if locked.first_responded_at is None:
        locked.first_responded_at = at
        fields.append("first_responded_at")
        details["first_response"] = True
        details["within_sla"] = at <= locked.first_response_due_at
    if status != locked.status:
        details.update(status_from=locked.status, status_to=status)
        locked.status = status
        locked.closed_at = at if status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED) else None
        fields += ["status", "closed_at"]
    locked.save(update_fields=fields)
    audit.record(actor=actor, action="support.ticket.reply", target=locked, details=details)
    _queue(
        template="support-ticket-reply",
        ticket=locked,
        stage=str(message.pk),
        to=_customer_email(locked.account, locked.user),
        context={
            "reply": body,
            "status_label": locked.get_status_display(),
            "url": _url("support:ticket_detail", locked.pk),
        },
        customer=True,
    )
    return message


@transaction.atomic
def ticket_note(*, ticket: Ticket, body: str, actor: User) -> TicketMessage:
    """An internal note: staff only, never shown or emailed to the customer. Audited."""
    body = _check_body(body)
    locked = _locked(ticket)
    message = TicketMessage.objects.create(ticket=locked, kind=TicketMessage.Kind.INTERNAL, author=actor, body=body)
    audit.record(actor=actor, action="support.ticket.note", target=locked, details={"message": message.pk})
    return message


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    status: str | None = None,
    priority: str | None = None,
    assignee: User | None | bool = False,
    actor: User,
) -> list[str]:
    """Staff triage: status, priority, assignee (a staff user, or None to
    unassign; False leaves it). Each change audited. Returns what changed."""
    locked = _locked(ticket)
    changed: dict[str, dict] = {}
    if status is not None and status != locked.status:
        if status not in Ticket.Status.values:
            raise ValidationError({"status": [f"Choose one of: {', '.join(Ticket.Status.values)}."]})
        changed["status"] = {"from": locked.status, "to": status}
        locked.status = status
        done = status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
        locked.closed_at = (locked.closed_at or timezone.now()) if done else None
    if priority is not None and priority != locked.priority:
        if priority not in Ticket.Priority.values:
            raise ValidationError({"priority": [f"Choose one of: {', '.join(Ticket.Priority.values)}."]})
        changed["priority"] = {"from": locked.priority, "to": priority}
        locked.priority = priority
    if assignee is not False and (assignee.pk if assignee else None) != locked.assignee_id:
        if assignee is not None and not (assignee.is_staff and assignee.is_active):
            raise ValidationError({"assignee": ["Assign the ticket to an active staff user."]})
        changed["assignee"] = {
            "from": locked.assignee_id,
            "to": assignee.pk if assignee else None,
            "to_email": assignee.email if assignee else "",
        }
        locked.assignee = assignee
    if changed:
        locked.save()
        audit.record(actor=actor, action="support.ticket.updated", target=locked, details=changed)
    return list(changed)


@transaction.atomic
def ticket_merge(*, ticket: Ticket, into: Ticket, actor: User) -> int:
    """Merge a duplicate into another ticket of the same account: its thread
    moves there (in time order), it is closed and points at the survivor.
    The survivor keeps its own first-response clock. Audited on both.
    Returns the number of messages moved; merging again moves nothing."""
    if ticket.pk == into.pk:
        raise ValidationError({"into": ["A ticket cannot be merged into itself."]})
    first, second = sorted([ticket.pk, into.pk])
    rows = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
    duplicate, survivor = rows[ticket.pk], rows[into.pk]
    if duplicate.account_id != survivor.account_id:
        raise ValidationError({"into": ["Only tickets of the same account can be merged."]})
    if survivor.merged_into_id is not None:
        raise ValidationError({"into": [f"#{survivor.pk} was itself merged into #{survivor.merged_into_id}."]})
    if duplicate.merged_into_id == survivor.pk:
        return 0
    moved = TicketMessage.objects.filter(ticket=duplicate).update(ticket=survivor)
    duplicate.merged_into = survivor
    duplicate.status = Ticket.Status.CLOSED
    duplicate.closed_at = duplicate.closed_at or timezone.now()
    duplicate.save()
    TicketMessage.objects.create(
        ticket=survivor,
        kind=TicketMessage.Kind.INTERNAL,
        author=actor,
        body=f"Ticket #{duplicate.pk} ({duplicate.subject}) was merged into this one.",
    )
    audit.record(
        actor=actor, action="support.ticket.merged", target=duplicate, details={"into": survivor.pk, "moved": moved}
    )
    audit.record(
        actor=actor, action="support.ticket.merged_in", target=survivor, details={"from": duplicate.pk, "moved": moved}
    )
    return moved
