"""Shared bits of the support services: the decision constants, absolute
links, the customer's address, and queuing an email in the one outbox
(`compliance.outbox`).

Every support email is one `compliance.OutboundEmail` row, queued once per
(kind, about, stage) and sent after commit by the outbox, which also retries
a failed send and shows one that gave up to staff. The kind is the template's
name ("support-dispute-reply" → "support.dispute-reply"); `about` is the
SLA credit request or dispute; the stage tells apart the emails of one kind
about one record:

    support.sla-credit-received       request   ""                     (filed: to support)
    support.sla-credit-receipt        request   ""                     (filed: the customer's receipt)
    support.sla-credit-info-added     request   "<message pk>"         (the customer answered)
    support.sla-credit-decision       request   "<status>:<uuid>"      (each customer-facing decision)
    support.sla-credit-decision       request   "credit-applied"       (Stripe confirmed the credit)
    support.dispute-received          dispute   ""                     (opened: to support)
    support.dispute-receipt           dispute   ""                     (opened: the customer's receipt)
    support.dispute-customer-message  dispute   "<message pk>"
    support.dispute-reply             dispute   "<message pk>"
    support.dispute-status            dispute   "<status>:<uuid>"      (each status change)
    support.chargeback-opened         dispute   ""
    support.evidence-due              dispute   "<YYYY-MM-DD>"         (once a day per chargeback)
    support.dfy-*                     order     (see dfy.py)           (DFY milestones)

support/migrations/0003 moved the old `SupportEmail` rows onto these keys.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from compliance.outbox.services import email_queue
from levqor.accounts.models import Account, User
from levqor.accounts.selectors import account_owner
from levqor.plans import CURRENCY

from ..models import SlaCreditRequest

# Levqor bills in GBP only, and Stripe credits a customer's balance only in
# that customer's currency: a credit in anything else would be refused (or
# compared against the GBP fee as if it were pounds).
CREDIT_CURRENCIES = (CURRENCY,)
CREDIT_CURRENCY_ERROR = (
    f"Credits are in {CURRENCY} only: Levqor bills in {CURRENCY}, and Stripe credits a customer's balance "
    "only in the customer's own currency."
)
DECISION_STATUSES = (
    SlaCreditRequest.Status.NEEDS_MORE_INFO,
    SlaCreditRequest.Status.APPROVED,
    SlaCreditRequest.Status.REJECTED,
)


def _url(name: str, *args) -> str:
    return f"{settings.LEVQOR_BASE_URL}{reverse(name, args=args)}"


def _customer_email(account: Account | None, user: User | None) -> str:
    if user is not None and user.is_active and user.email:
        return user.email
    owner = account_owner(account)
    return owner.email if owner else ""


def email_kind(template: str) -> str:
    """The outbox kind of a support email template ("support-evidence-due" → "support.evidence-due")."""
    return f"support.{template.removeprefix('support-')}"


def _email(*, template: str, about: models.Model, stage: str = "", to: str, context: dict) -> bool:
    """Queue one email in the outbox, once per (kind, about, stage); sent after
    commit. Returns whether it was newly queued (False when it was queued
    before, or there is nobody to send it to)."""
    if not to:
        return False
    queued = email_queue(kind=email_kind(template), about=about, stage=stage, template=template, to=to, context=context)
    return queued is not None
