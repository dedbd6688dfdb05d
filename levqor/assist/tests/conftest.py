import pytest

from levqor.api.models import ApiKey
from levqor.api.testing import ApiCaller, issue_key


@pytest.fixture
def sandbox_key(customer_account):
    return issue_key(customer_account, mode=ApiKey.Mode.TEST, name="Sandbox")


@pytest.fixture
def api(client, sandbox_key):
    return ApiCaller(client, sandbox_key.secret)


@pytest.fixture
def other_api(client, other_customer):
    return ApiCaller(client, issue_key(other_customer.account, mode=ApiKey.Mode.TEST, name="Other").secret)
