"""What the support app holds about a person (tickets, SLA credit requests and
disputes they filed, messages they wrote, attachments) and how it is erased.
Listed in settings.LEVQOR_PRIVACY_PROVIDERS.

Erasure keeps the business facts (account, period, measured downtime,
credit amount and Stripe reference, dispute category, status, chargeback
amounts): they are financial records. It removes the person's link, the
free text they wrote and their attachments. Chargeback evidence files
(`EvidenceFile`, attached by staff, sent to Stripe) are kept with their
chargeback: the record of a legal claim's defence (art. 17(3)(e)); the
staff member who attached one is not the data subject. The emails sent to them are
the outbox's (`compliance.outbox`), which compliance exports and erases by
address.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from compliance import audit
from compliance.dsar import providers

from .models import Dispute, DisputeMessage, SlaCreditMessage, SlaCreditRequest, Ticket, TicketMessage

ERASED = "[erased at the person's request]"


def support_rows(*, user):
    """The person's SLA credit requests and disputes with what they wrote
    (internal staff notes left out): `support.json` in a data export."""
    for request in SlaCreditRequest.objects.filter(user=user).order_by("pk"):
        yield {
            "kind": "sla_credit_request",
            "id": request.pk,
            "created_at": request.created_at.isoformat(),
            "period": f"{request.period_start}..{request.period_end}",
            "impact": request.impact,
            "description": request.description,
            "status": request.status,
            "notes_to_customer": request.notes_to_customer,
            "credit": request.credit_display if request.credit_amount_minor else None,
            "attachment": request.attachment_name or None,
            "messages": [m.body for m in request.messages.filter(author=user)],
        }
    for dispute in Dispute.objects.filter(user=user).order_by("pk"):
        yield {
            "kind": "dispute",
            "id": dispute.pk,
            "created_at": dispute.created_at.isoformat(),
            "category": dispute.category,
            "subject": dispute.subject,
            "description": dispute.description,
            "status": dispute.status,
            "resolution_notes": dispute.resolution_notes,
            "replies": [
                {"kind": m.kind, "body": m.body, "at": m.created_at.isoformat()}
                for m in dispute.messages.exclude(kind=DisputeMessage.Kind.INTERNAL)
            ],
        }

    for ticket in Ticket.objects.filter(user=user).order_by("pk"):
        yield {
            "kind": "ticket",
            "id": ticket.pk,
            "opened_at": ticket.opened_at.isoformat(),
            "subject": ticket.subject,
            "status": ticket.status,
            "first_response_due_at": ticket.first_response_due_at.isoformat(),
            "messages": [
                {"kind": m.kind, "body": m.body, "at": m.created_at.isoformat()}
                for m in ticket.messages.exclude(kind=TicketMessage.Kind.INTERNAL)
            ],
        }


@transaction.atomic
def erase_user(*, user, actor) -> dict:
    """Blank what the person wrote, delete their attachments, unlink them.
    Safe to run twice."""
    requests = list(SlaCreditRequest.objects.filter(user=user))
    files = 0
    for request in requests:
        if request.attachment:
            request.attachment.delete(save=False)
            files += 1
        audit.record(actor=actor, action="support.sla_credit.erased", target=request)
    SlaCreditRequest.objects.filter(pk__in=[r.pk for r in requests]).update(
        user=None, description=ERASED, attachment="", attachment_name=""
    )
    disputes = list(Dispute.objects.filter(user=user))
    for dispute in disputes:
        audit.record(actor=actor, action="support.dispute.erased", target=dispute)
    Dispute.objects.filter(pk__in=[d.pk for d in disputes]).update(user=None, description=ERASED)
    tickets = list(Ticket.objects.filter(user=user))
    for ticket in tickets:
        audit.record(actor=actor, action="support.ticket.erased", target=ticket)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(user=None, subject=ERASED)
    messages = SlaCreditMessage.objects.filter(author=user).update(author=None, body=ERASED)
    messages += DisputeMessage.objects.filter(author=user).update(author=None, body=ERASED)
    messages += TicketMessage.objects.filter(author=user).update(author=None, body=ERASED)
    return {
        "support_sla_requests": len(requests),
        "support_disputes": len(disputes),
        "support_tickets": len(tickets),
        "support_messages": messages,
        "support_attachments": files,
    }


def support_rows_for_address(*, email: str):
    """SLA credit requests and disputes filed by a (closed or former)
    account user with this address, with their history, for the export of
    someone answered by address (the privacy centre)."""
    for user in get_user_model().objects.filter(email__iexact=email).order_by("pk"):
        for row in support_rows(user=user):
            model = SlaCreditRequest if row["kind"] == "sla_credit_request" else Dispute
            row["history"] = providers.audit_history(model(pk=row["id"]))
            yield row


def prune_attachments(*, cutoff, dry_run: bool) -> int:
    """Delete the files attached to SLA credit requests decided before
    `cutoff` (the request and its decision stay). Undecided requests keep
    theirs whatever their age. Safe to run twice."""
    old = SlaCreditRequest.objects.filter(decided_at__lt=cutoff).exclude(attachment="")
    if dry_run:
        return old.count()
    count = 0
    for request in old.only("pk", "attachment"):
        request.attachment.delete(save=False)
        SlaCreditRequest.objects.filter(pk=request.pk).update(
            attachment="", attachment_name="", attachment_type="", attachment_size=None
        )
        count += 1
    return count


provider = providers.Provider(
    name="support",
    files={
        "support.json": providers.ExportFile(
            "SLA credit requests, disputes and support tickets you filed: what you wrote, status, decisions "
            "and replies to you.",
            rows=support_rows,
        )
    },
    erase=erase_user,
    address_files={
        "support.json": providers.ExportFile(
            "SLA credit requests and disputes filed with your address: what you wrote, status, decisions, "
            "replies to you and their history.",
            rows=support_rows_for_address,
        )
    },
    retention={"sla_attachments": prune_attachments},
    covers=(
        "support.SlaCreditRequest",
        "support.SlaCreditMessage",
        "support.Dispute",
        "support.DisputeMessage",
        "support.Ticket",
        "support.TicketMessage",
    ),
    prunes={"sla_attachments": ("support.SlaCreditRequest",)},
    processing=(
        providers.Processing(
            activity="Support tickets, SLA credit requests, disputes and chargebacks",
            subjects="Customers' users who file them",
            data="Name, email address, what they reported, attachments, staff notes and decisions, Stripe "
            "dispute and credit references, chargeback evidence files staff send to Stripe (receipts, customer "
            "communication, service documentation)",
            purpose="Answer claims and disputes and apply service credits under the SLA",
            legal_basis="Contract (art. 6(1)(b)) and legitimate interests in defending claims (art. 6(1)(f))",
            retention="While the account is open; anonymised on erasure; attachments deleted after the decision",
            retention_kind="sla_attachments",
            recipients=("Stripe", "Resend (email delivery)", "Amazon Web Services S3 (file storage)"),
        ),
    ),
)
