import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import BaseThrottle

from levqor.accounts.models import Account
from levqor.api import quotas
from levqor.api.authentication import _ident
from levqor.api.testing import ApiCaller, issue_key


def _error(response):
    return response.json()["error"]


@pytest.mark.django_db
class TestQuota:
    def test_it_puts_the_remaining_quota_and_reset_time_on_every_response(self, api):
        response = api.get("/api/workflows")
        assert response["X-Quota-Limit"] == "1000"  # sandbox keys
        assert response["X-Quota-Remaining"] == "999"
        _label, _start, reset = quotas.period()
        assert response["X-Quota-Reset"] == reset.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert response["X-RateLimit-Limit"] == str(settings.LEVQOR_API_BURST_PER_KEY)
        assert api.get("/api/workflows/00000000-0000-0000-0000-000000000000")["X-Quota-Remaining"] == "998"

    def test_it_uses_the_plans_quota_for_live_keys_and_counts_modes_apart(self, client, customer_account):
        live = ApiCaller(client, issue_key(customer_account, mode="live").secret)
        sandbox = ApiCaller(client, issue_key(customer_account, mode="test").secret)
        assert live.get("/api/workflows")["X-Quota-Limit"] == str(quotas.MONTHLY_QUOTAS["growth"])
        assert live.get("/api/workflows")["X-Quota-Remaining"] == str(quotas.MONTHLY_QUOTAS["growth"] - 2)
        assert sandbox.get("/api/workflows")["X-Quota-Remaining"] == "999"

    def test_it_shows_unlimited_for_the_business_plan(self, client, customer_account):
        Account.objects.filter(pk=customer_account.pk).update(plan="business")
        customer_account.refresh_from_db()
        live = ApiCaller(client, issue_key(customer_account, mode="live").secret)
        response = live.get("/api/workflows")
        assert response.status_code == 200
        assert response["X-Quota-Limit"] == "unlimited" and response["X-Quota-Remaining"] == "unlimited"

    def test_it_answers_429_when_the_quota_is_used_up_and_resets_next_month(self, api, monkeypatch):
        monkeypatch.setitem(quotas.MONTHLY_QUOTAS, quotas.SANDBOX, 3)
        november = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
        monkeypatch.setattr(quotas, "now", lambda: november)
        assert [api.get("/api/workflows").status_code for _ in range(3)] == [200, 200, 200]
        response = api.get("/api/workflows")
        assert response.status_code == 429
        error = _error(response)
        assert error["code"] == "quota_exceeded"
        assert error["details"]["reset_at"] == "2026-12-01T00:00:00+00:00"
        assert "2026-12-01" in error["message"]
        assert int(response["Retry-After"]) == int((datetime(2026, 12, 1, tzinfo=UTC) - november).total_seconds()) + 1
        assert response["X-Quota-Remaining"] == "0"

        monkeypatch.setattr(quotas, "now", lambda: datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC))
        response = api.get("/api/workflows")
        assert response.status_code == 200 and response["X-Quota-Remaining"] == "2"

    def test_it_rolls_the_year_over(self):
        label, start, reset = quotas.period(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
        assert label == "202612" and start.day == 1 and reset == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.django_db
class TestBurst:
    def test_it_limits_bursts_per_key_without_using_quota(self, api, settings):
        settings.LEVQOR_API_BURST_PER_KEY = 3
        assert [api.get("/api/workflows").status_code for _ in range(3)] == [200, 200, 200]
        response = api.get("/api/workflows")
        assert response.status_code == 429
        error = _error(response)
        assert error["code"] == "rate_limited" and error["details"]["scope"] == "key"
        assert 1 <= int(response["Retry-After"]) <= settings.LEVQOR_API_BURST_WINDOW
        assert response["X-RateLimit-Remaining"] == "0"
        assert response["X-Quota-Remaining"] == "997"  # the refused call was not counted

    def test_it_limits_bursts_per_ip_even_for_bad_keys(self, client, settings):
        settings.LEVQOR_API_BURST_PER_IP = 2
        bad = ApiCaller(client, "lvq_test_" + "x" * 32)
        assert [bad.get("/api/workflows").status_code for _ in range(2)] == [401, 401]
        response = bad.get("/api/workflows")
        assert response.status_code == 429 and _error(response)["details"]["scope"] == "ip"
        assert "Retry-After" in response


# Run in a second process: make calls with the same key against the same
# database and Redis, and print the status codes.
_OTHER_PROCESS = """
import json, os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "levqor.settings_test"
django.setup()
from django.conf import settings
settings.CACHES["default"]["KEY_PREFIX"] = os.environ["H_PREFIX"]
settings.DATABASES["default"]["NAME"] = os.environ["H_DB"]
settings.LEVQOR_API_BURST_PER_KEY = int(os.environ["H_BURST"])
settings.LEVQOR_API_BURST_WINDOW = int(os.environ["H_WINDOW"])
from django.test import Client
client = Client()
codes = [client.get("/api/workflows", headers={"X-Api-Key": os.environ["H_KEY"]}).status_code for _ in range(3)]
print(json.dumps(codes))
"""


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs REDIS_URL: the local-memory cache is per process, so there is nothing shared to prove",
)
@pytest.mark.django_db(transaction=True)
def test_it_shares_the_throttle_count_between_processes_through_redis(client, customer_account, settings):
    settings.LEVQOR_API_BURST_PER_KEY = 5
    # A day-long window, so the count cannot roll over while the second process starts.
    settings.LEVQOR_API_BURST_WINDOW = 86_400
    issued = issue_key(customer_account, mode="test")
    api = ApiCaller(client, issued.secret)
    assert [api.get("/api/workflows").status_code for _ in range(3)] == [200, 200, 200]
    env = {
        **os.environ,
        "H_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "H_DB": connection.settings_dict["NAME"],
        "H_BURST": "5",
        "H_WINDOW": "86400",
        "H_KEY": issued.secret,
    }
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS],
        env=env,
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [200, 200, 429]  # 3 here + 2 there = 5
    response = api.get("/api/workflows")
    assert response.status_code == 429
    assert response["X-Quota-Remaining"] == "995"  # both processes' calls counted against one quota


@pytest.mark.parametrize("num_proxies", [None, 0, 1, 2])
@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7"},
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 192.0.2.44 , 10.0.0.1"},
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": " 198.51.100.7 ,192.0.2.44"},
    ],
)
def test_the_ip_window_counts_the_client_drf_would_name(settings, num_proxies, meta):  # noqa: F811 - the fixture
    """The IP burst window is keyed by `authentication._ident`, read from
    META (cheaper); it must name the same client as DRF's own throttles."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    request = APIRequestFactory().get("/api/workflows", **meta)

    assert _ident(request) == (BaseThrottle().get_ident(request) or "unknown")
