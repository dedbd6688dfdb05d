"""Billing's recovery and pause verbs: a case closed as recovered (by
Stripe's payment or by staff), and the staff actions of the dunning queue:
mark recovered, resend the current email, pause and un-pause the account.
Each is atomic, audits in its own transaction and sends email only after
commit (through the outbox, see `notices`). Stripe's events reach cases
through `cases`; the sweep is `dunning`."""

from django.db import transaction
from django.utils import timezone

from compliance import audit
from compliance.outbox import selectors as outbox_selectors
from compliance.outbox import services as outbox
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_set_billing_state

from .models import DunningCase, SubscriptionStanding
from .notices import KIND, RECOVERED, notice_queue
from .standing import standing_set

# --- Recovery -------------------------------------------------------------------------------


def case_recover(*, case: DunningCase, reason: str, details: dict, actor: User | None) -> None:
    """Close a locked pending case as recovered in the caller's transaction:
    un-pause the account unless another case holds it, claim the "payment
    received" email. Stripe's payment and staff both come here."""
    now = timezone.now()
    case.status = DunningCase.Status.RECOVERED
    case.closed_at = now
    case.next_action_at = None
    case.save()
    audit.record(actor=actor, action="dunning.case_recovered", target=case, details={"reason": reason, **details})
    account = case.account
    if (
        account is not None
        and account.billing_state == Account.BillingState.PAUSED_BILLING
        and not account.dunning_cases.filter(status=DunningCase.Status.PENDING).exclude(pk=case.pk).exists()
    ):
        account_set_billing_state(
            account=account, state=Account.BillingState.ACTIVE, reason=f"dunning case #{case.pk} recovered", actor=actor
        )
        audit.record(actor=actor, action="dunning.account_unpaused", target=case, details={"account": account.pk})
    # Queued in the recovery's transaction, sent after it commits: the
    # "payment received" email never goes out for a recovery rolled back.
    notice_queue(case=case, stage=RECOVERED)


# --- Staff actions ----------------------------------------------------------------------------------


@transaction.atomic
def case_mark_recovered(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: close a pending case as recovered (un-pauses, sends the
    "payment received" email). False if it was not pending."""
    case = DunningCase.objects.select_for_update().get(pk=case.pk)
    if case.status != DunningCase.Status.PENDING:
        return False
    # From now on only a newer Stripe failure opens a case again.
    standing_set(case.stripe_subscription_id, SubscriptionStanding.Standing.OK, timezone.now(), "staff")
    case_recover(case=case, reason="marked recovered by staff", details={}, actor=actor)
    return True


def case_resend_current(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: send the current stage's email again (the outbox's resend,
    audited there), or, if it has not left yet, try it again now. Returns
    whether it went (resend) or was retried. False if there is none yet."""
    stage = case.stage or (RECOVERED if case.status == DunningCase.Status.RECOVERED else "")
    email = outbox_selectors.emails_about(case).filter(kind=KIND, stage=stage).first() if stage else None
    if email is None:
        return False
    if email.status == email.Status.SENT:
        return outbox.email_resend(email=email, actor=actor)
    return outbox.email_retry_now(email=email, actor=actor)


@transaction.atomic
def case_pause_account(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: pause the case's account for billing. False if already paused."""
    if case.account is None or not account_set_billing_state(
        account=case.account, state=Account.BillingState.PAUSED_BILLING, reason=f"staff, case #{case.pk}", actor=actor
    ):
        return False
    audit.record(actor=actor, action="dunning.account_paused", target=case, details={"account": case.account_id})
    return True


@transaction.atomic
def case_unpause_account(*, case: DunningCase, actor: User | None) -> bool:
    """Staff: lift a billing pause. False if the account was not paused."""
    account = case.account
    if account is None or account.billing_state != Account.BillingState.PAUSED_BILLING:
        return False
    account_set_billing_state(
        account=account, state=Account.BillingState.ACTIVE, reason=f"staff, case #{case.pk}", actor=actor
    )
    audit.record(actor=actor, action="dunning.account_unpaused", target=case, details={"account": account.pk})
    return True
