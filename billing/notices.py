"""Dunning emails, sent through the one outbox (`compliance.outbox`).

Each is an email of kind "billing.dunning" about a `DunningCase`, once per
(case, stage): the stage is a code of the stage table (`billing.stages`,
one reminder template for every stage) or "recovered" ("payment
received"). The outbox queues it in the caller's transaction, delivers it
after commit, retries a failed send with back-off and shows staff what gave
up. At delivery time `dunning_email_prepare` (registered in
`BillingConfig.ready()`) decides the recipient (the account's owner then)
and the live context, and drops an email whose news no longer holds: a
reminder for a case that was paid meanwhile, "paused" for an account that
is not paused."""

from django.conf import settings
from django.urls import reverse

from compliance.outbox import kinds
from compliance.outbox import services as outbox
from compliance.outbox.models import OutboundEmail
from levqor.accounts.models import User
from levqor.accounts.selectors import account_owner

from . import stages
from .models import DunningCase

KIND = "billing.dunning"
# The stage of the "payment received" email (the reminders' are stage codes).
RECOVERED = "recovered"
# The stages' reminders share one template (`billing.stages`); this one is its own.
RECOVERED_TEMPLATE = "dunning-recovered"


def message(stage: str) -> tuple[str, str]:
    """(template, name) of a stage's email: its reminder, or "payment
    received". The name is what the provider's tags and the case timeline
    show (each stage had its own template folder under this name)."""
    row = stages.by_code(stage)
    return (row.template, row.email_name) if row else (RECOVERED_TEMPLATE, RECOVERED_TEMPLATE)


def label(stage: str) -> str:
    """What staff see for a stage's email."""
    row = stages.by_code(stage)
    return row.notice_label if row else "Payment received"


def _row(case: DunningCase, stage: str) -> dict:
    """The outbox fields of one dunning email (`email_queue`'s, for the batch insert)."""
    template, name = message(stage)
    about_type, about_id = outbox.about_key(case)
    return {
        "kind": KIND,
        "about_type": about_type,
        "about_id": about_id,
        "stage": stage,
        "template": template,
        "tags": ["dunning", name] if name != template else ["dunning"],
    }


def notice_queue(*, case: DunningCase, stage: str) -> OutboundEmail | None:
    """Queue the case's email for this stage, once; None if it was queued
    before. It leaves after the caller's transaction commits, so only once
    what it reports has committed."""
    row = _row(case, stage)
    return outbox.email_queue(
        kind=row["kind"], about=case, stage=stage, template=row["template"], tags=row["tags"], context={}
    )


def notices_queue(*, pairs: list[tuple[DunningCase, str]]) -> list[int]:
    """Queue one stage email for each (case, stage) of a sweep batch in one
    insert, handed to the queue in one task after commit (the sweep's
    batches run to 100,000 cases); each still once per (case, stage).
    Returns the ids of the emails waiting to be sent."""
    emails = []
    for case, stage in pairs:
        row = _row(case, stage)
        emails.append({"about": case, "stage": stage, "template": row["template"], "tags": row["tags"]})
    return outbox.emails_queue_many(kind=KIND, emails=emails)


def _email_context(case: DunningCase, user: User, *, kind: str) -> dict:
    """What the email of this stage for this case is rendered with: the
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
        # The Billing Portal, through our page: a portal session itself
        # expires within minutes, long before an email is read.
        "manage_url": settings.LEVQOR_BASE_URL + reverse("billing:portal"),
        "next_retry": case.next_payment_attempt if not case.hard_decline else None,
        "hard_decline": case.hard_decline,
        "sentence": stage.sentence if stage else "",
        "subject": stage.subject.format(amount=case.amount_display) if stage else "",
    }


def _no_longer_true(case: DunningCase, stage: str) -> str:
    """Why this stage's email would now say something false, or "" if it still holds."""
    if stage == RECOVERED:
        return "" if case.status == DunningCase.Status.RECOVERED else f"the case is {case.status}, not recovered"
    if case.status != DunningCase.Status.PENDING:
        return f"the case was {case.status} before the reminder went out"
    row = stages.by_code(stage)
    if row is not None and row.pauses and not (case.account and case.account.is_paused):
        return "the account is not paused"
    return ""


def dunning_email_prepare(email: OutboundEmail, *, resend: bool) -> kinds.Prepared:
    """The outbox's delivery hook for "billing.dunning": the account's owner
    now and the case as it is now; `kinds.Drop` when the email's news no
    longer holds. A staff resend sends what was sent, checks aside."""
    case = DunningCase.objects.select_related("account").filter(pk=email.about_id).first()
    if case is None:
        raise kinds.Drop("the case no longer exists")
    if not resend:
        why = _no_longer_true(case, email.stage)
        if why:
            raise kinds.Drop(why)
    user = account_owner(case.account)
    if user is None:
        if resend:
            raise kinds.Drop("the account has no active user to email")
        # No recipient: the outbox records a failed attempt and retries.
        return kinds.Prepared(to="")
    return kinds.Prepared(to=user.email, context=_email_context(case, user, kind=email.stage))
