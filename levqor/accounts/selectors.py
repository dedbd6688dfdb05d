"""Accounts reads other apps ask: whose account a Stripe customer is, and
who the account's person is."""

from .models import Account, User


def account_for_stripe_customer(customer_id: str) -> Account | None:
    """The account linked to a Stripe customer (`cus_…`), or None."""
    if not customer_id:
        return None
    return Account.objects.filter(stripe_customer_id=customer_id).first()


def account_owner(account: Account | None) -> User | None:
    """The account's person: its earliest-joined active user (whom billing and
    support email about the account), or None."""
    if account is None:
        return None
    return account.users.filter(is_active=True).order_by("date_joined", "pk").first()
