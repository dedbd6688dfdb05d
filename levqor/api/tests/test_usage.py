"""GET /api/usage and the usage chart on /account/api-keys."""

import pytest

from levqor.api import quotas
from levqor.api.models import ApiKey
from levqor.api.testing import ApiCaller, issue_key

pytestmark = pytest.mark.django_db


def test_it_reports_calls_per_key_and_for_the_account_with_the_reset(client, customer_account, monkeypatch):
    monkeypatch.setitem(quotas.MONTHLY_QUOTAS, quotas.SANDBOX, 10)
    first = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.TEST, name="First").secret)
    second = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.TEST, name="Second").secret)
    live = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.LIVE, name="Live").secret)
    for _ in range(3):
        first.get("/api/workflows")
    live.get("/api/workflows")

    response = second.get("/api/usage")

    assert response.status_code == 200
    body = response.json()
    _label, start, reset = quotas.period()
    assert body["reset_at"] == reset.isoformat().replace("+00:00", "Z")
    assert body["account"]["sandbox"] == {"used": 4, "limit": 10, "remaining": 6}  # this call counts too
    growth = quotas.MONTHLY_QUOTAS["growth"]
    assert body["account"]["live"] == {"used": 1, "limit": growth, "remaining": growth - 1}
    keys = {row["name"]: row for row in body["keys"]}
    assert (keys["First"]["used"], keys["Second"]["used"], keys["Live"]["used"]) == (3, 1, 1)
    assert keys["First"]["remaining"] == 6 and keys["First"]["mode"] == "test"
    assert body["daily"][-1]["sandbox"] == 4 and body["daily"][-1]["live"] == 1
    assert response["X-Quota-Remaining"] == "6"


def test_another_account_sees_only_its_own_keys(client, customer_account, other_customer):
    ApiCaller(client, issue_key(customer_account).secret).get("/api/workflows")
    other = ApiCaller(client, issue_key(other_customer.account, name="Theirs").secret)

    body = other.get("/api/usage").json()

    assert [row["name"] for row in body["keys"]] == ["Theirs"]
    assert body["account"]["sandbox"]["used"] == 1


def test_it_needs_a_key(client):
    assert client.get("/api/usage").status_code == 401


def test_the_keys_page_draws_the_months_calls(client, customer, customer_account):
    api = ApiCaller(client, issue_key(customer_account, name="Chart").secret)
    for _ in range(2):
        api.get("/api/workflows")
    client.force_login(customer)

    page = client.get("/account/api-keys").content.decode()

    assert "<svg" in page and "calls per day" in page.lower()
    assert ": 2 sandbox calls</title>" in page
    assert "2 used of 1,000 (998 left)" in page
