"""Shared fixtures: the three personas (staff, customer, other customer) and
email through anymail's test backend."""

import pytest
from django.core import mail

from levqor.accounts.models import Account, User
from levqor.accounts.services import account_create


@pytest.fixture(autouse=True)
def _anymail_test_backend(settings):
    # Django's test setup forces the locmem backend; anymail's test backend
    # also records tags and metadata, and still fills mail.outbox.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser(email="staff@levqor.test", password="staff-password-123", name="Sam Staff")


@pytest.fixture
def customer_account(db) -> Account:
    return account_create(
        name="Acme Ltd",
        plan="growth",
        owner_email="owner@acme.test",
        owner_name="Olive Owner",
        billing_state=Account.BillingState.ACTIVE,
        actor=None,
    )


@pytest.fixture
def customer(customer_account) -> User:
    return customer_account.users.get()


@pytest.fixture
def other_customer(db) -> User:
    account = account_create(
        name="Other Co", plan="starter", owner_email="someone@other.test", billing_state="active", actor=None
    )
    return account.users.get()


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
