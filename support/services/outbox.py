"""Shared bits of the support services and the email outbox: one
`SupportEmail` row per email, claimed before sending, so each goes out once."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from compliance import mail
from levqor.accounts.models import Account, User
from levqor.accounts.selectors import account_owner
from levqor.plans import CURRENCY

from .. import selectors
from ..models import SlaCreditRequest, SupportEmail
from ..rules import CLAIM_LEASE

logger = logging.getLogger(__name__)

# Failed sends the sweep retries (every 10 minutes) before leaving the email to staff.
EMAIL_MAX_ATTEMPTS = 5
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


# --- Email outbox ---------------------------------------------------------------------


def _email(*, key: str, template: str, to: str, context: dict, sla_request=None, dispute=None) -> bool:
    """Queue one email (once per key) and hand it to the task queue after
    commit. Returns whether it was newly queued."""
    if not to:
        return False
    email, created = SupportEmail.objects.get_or_create(
        key=key[:200],
        defaults={"template": template, "to": to, "context": context, "sla_request": sla_request, "dispute": dispute},
    )
    if created:
        email_id = email.pk
        transaction.on_commit(lambda: _enqueue_email(email_id))
    return created


def _enqueue_email(email_id: int) -> None:
    try:
        async_task(email_deliver, email_id=email_id, task_name=f"support-email-{email_id}")
    except Exception:
        logger.exception("could not enqueue support email %s; the sweep will send it", email_id)


def email_deliver(*, email_id: int) -> bool:
    """Send one queued email if nobody has: claim the row by conditional
    update, send, mark sent. Safe to run twice (the second run sends nothing)."""
    now = timezone.now()
    claimed = (
        SupportEmail.objects.filter(pk=email_id, sent_at__isnull=True, skipped=False)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now)
    )
    if not claimed:
        return False
    email = SupportEmail.objects.get(pk=email_id)
    try:
        sent = mail.send(email.template, to=email.to, context=email.context, purpose="transactional")
    except Exception as exc:  # the provider or the network: recorded, shown to staff, retried by the sweep
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning("support email %s (%s) failed to send: %s", email_id, email.template, error)
        SupportEmail.objects.filter(pk=email_id).update(
            claimed_at=None, attempts=F("attempts") + 1, failed_at=timezone.now(), last_error=error
        )
        return False
    SupportEmail.objects.filter(pk=email_id).update(
        sent_at=timezone.now() if sent else None, skipped=not sent, last_error=""
    )
    return sent


def emails_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue emails never sent whose claim lapsed (the queue lost them, a
    worker died, or sending failed), up to EMAIL_MAX_ATTEMPTS failures; the
    rest stay in needs attention. Safe to run twice."""
    now = now or timezone.now()
    ids = list(
        selectors.emails_unsent()
        .filter(created_at__lt=now - timedelta(minutes=2), attempts__lt=EMAIL_MAX_ATTEMPTS)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        _enqueue_email(pk)
    return len(ids)
