"""The two account questions other apps ask: whose is this Stripe customer,
and who is the account's person."""

from datetime import timedelta

import pytest
from django.utils import timezone

from levqor.accounts.models import User
from levqor.accounts.selectors import account_for_stripe_customer, account_owner

pytestmark = pytest.mark.django_db


def test_it_finds_the_account_of_a_stripe_customer(customer_account, other_customer):
    customer_account.stripe_customer_id = "cus_acme"
    customer_account.save(update_fields=["stripe_customer_id"])
    assert account_for_stripe_customer("cus_acme") == customer_account
    assert account_for_stripe_customer("cus_unknown") is None
    assert account_for_stripe_customer("") is None


def test_it_names_the_earliest_joined_active_user_as_owner(customer_account, customer):
    earlier = User.objects.create_user(
        email="first@acme.test", account=customer_account, date_joined=customer.date_joined - timedelta(days=1)
    )
    assert account_owner(customer_account) == earlier
    earlier.is_active = False
    earlier.save(update_fields=["is_active"])
    assert account_owner(customer_account) == customer
    User.objects.create_user(email="later@acme.test", account=customer_account, date_joined=timezone.now())
    assert account_owner(customer_account) == customer


def test_it_has_no_owner_without_an_account_or_active_user(customer_account, customer):
    assert account_owner(None) is None
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert account_owner(customer_account) is None
