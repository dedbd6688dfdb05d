"""Linking a Stripe customer to a Levqor account, and applying what was
kept waiting for that link: a Stripe event for a customer no account knows
is stored `unmatched` (never dropped) and applied once staff link it, from
the Stripe event admin (this service) or by setting the account's Stripe
customer id in the accounts admin (billing's `post_save` doorway)."""

import logging

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit
from levqor.accounts.models import Account, User

from . import intake
from .models import StripeEvent

logger = logging.getLogger(__name__)


class LinkError(Exception):
    """The customer cannot be linked; the message is safe to show staff."""


@transaction.atomic
def customer_link(*, customer_id: str, account: Account, actor: User | None) -> int:
    """Staff: link a Stripe customer to an account and apply, after commit,
    the events kept unmatched for it (a payment failure then opens its case).
    Returns how many events are waiting. Safe to run twice."""
    customer_id = customer_id.strip()
    if not customer_id.startswith("cus_"):
        raise LinkError(f"{customer_id!r} is not a Stripe customer id (cus_…).")
    account = Account.objects.select_for_update().get(pk=account.pk)
    other = Account.objects.filter(stripe_customer_id=customer_id).exclude(pk=account.pk).first()
    if other is not None:
        raise LinkError(f"{customer_id} is already linked to {other.name}.")
    if account.stripe_customer_id and account.stripe_customer_id != customer_id:
        raise LinkError(f"{account.name} is already linked to {account.stripe_customer_id}.")
    if account.stripe_customer_id != customer_id:
        # .update(): the accounts app's post_save doorway would enqueue too.
        Account.objects.filter(pk=account.pk).update(stripe_customer_id=customer_id, updated_at=timezone.now())
        audit.record(
            actor=actor, action="billing.customer_linked", target=account, details={"stripe_customer": customer_id}
        )
    waiting = StripeEvent.objects.filter(customer_id=customer_id, status=StripeEvent.Status.UNMATCHED).count()
    if waiting:
        transaction.on_commit(lambda: events_enqueue_unmatched(customer_id))
    return waiting


def events_enqueue_unmatched(customer_id: str) -> None:
    """Hand a customer's unmatched events to a worker. Never raises: if the
    broker is down the retry schedule applies them."""
    try:
        async_task(intake.events_apply_unmatched, customer_id=customer_id, task_name=f"stripe-unmatched-{customer_id}")
    except Exception:
        logger.exception("could not enqueue the unmatched events of %s; the retry schedule will", customer_id)


def unmatched_waiting_for(customer_id: str) -> bool:
    return (
        bool(customer_id)
        and StripeEvent.objects.filter(customer_id=customer_id, status=StripeEvent.Status.UNMATCHED).exists()
    )


def account_saved(*, account: Account) -> None:
    """Doorway for an account saved anywhere (the accounts admin): if its
    Stripe customer has unmatched events, apply them after commit."""
    customer_id = account.stripe_customer_id or ""
    if unmatched_waiting_for(customer_id):
        transaction.on_commit(lambda: events_enqueue_unmatched(customer_id))


def on_account_saved(sender, instance: Account, raw: bool = False, **kwargs) -> None:
    """`post_save` receiver for Account (the accounts app cannot import billing)."""
    if not raw:
        account_saved(account=instance)
