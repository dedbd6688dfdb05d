"""Where the limits are kept: monthly counters in the database (shared by
every process, kept across restarts, exact at the month boundary; with
Redis a shared Redis counter written through to the database), burst
limits as a sliding window, and revocation that needs no cache to expire
(with Redis: a cached key outdated at once by its revocation)."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection

from levqor.api import keycache, meter, quotas
from levqor.api.models import ApiUsage
from levqor.api.services import api_key_revoke
from levqor.api.testing import ApiCaller, issue_key
from levqor.lib.cache import clear_own_keys

NOVEMBER = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _at(monkeypatch, when: datetime) -> None:
    monkeypatch.setattr(quotas, "now", lambda: when)


@pytest.mark.django_db
class TestMonthlyCounter:
    def test_it_keeps_the_months_count_when_the_cache_is_lost(self, api, monkeypatch):
        _at(monkeypatch, NOVEMBER)
        assert [api.get("/api/workflows")["X-Quota-Remaining"] for _ in range(2)] == ["999", "998"]
        quotas.quota_flush()  # the minute job (with Redis; nothing to do without)
        clear_own_keys(caches["default"])  # what a restart does to the local-memory cache, or a Redis data loss
        assert api.get("/api/workflows")["X-Quota-Remaining"] == "997"

    @pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the write-through is Redis's")
    def test_with_redis_a_data_loss_forgets_at_most_the_calls_since_the_last_write_through(
        self, api, monkeypatch, settings, customer_account
    ):
        settings.LEVQOR_API_QUOTA_FLUSH_SECONDS = 3600  # nothing but the first call writes through
        _at(monkeypatch, NOVEMBER)
        for _ in range(4):
            api.get("/api/workflows")
        assert ApiUsage.objects.get(account=customer_account).calls == 1  # the month's first call
        assert quotas.quota_peek(account_id=customer_account.pk, plan="growth", sandbox=True).used == 4
        clear_own_keys(caches["default"])  # Redis restarted without persistence
        assert api.get("/api/workflows")["X-Quota-Remaining"] == "998"  # 1 on disk + this one: 3 forgotten
        for _ in range(2):
            api.get("/api/workflows")
        assert quotas.quota_flush() == 1
        assert ApiUsage.objects.get(account=customer_account).calls == 4
        clear_own_keys(caches["default"])
        assert api.get("/api/workflows")["X-Quota-Remaining"] == "995"  # after the minute job: nothing lost

    @pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the write-through is Redis's")
    def test_with_redis_writes_through_never_lower_or_double_the_row(self, api, monkeypatch, customer_account):
        _at(monkeypatch, NOVEMBER)
        for _ in range(3):
            api.get("/api/workflows")
        quotas.quota_flush()
        quotas.quota_flush()  # again, nothing new: the same count
        quotas._write_through(
            account_id=customer_account.pk, mode="test", month=NOVEMBER.date().replace(day=1), calls=1
        )
        assert ApiUsage.objects.get(account=customer_account).calls == 3  # a late, smaller write changes nothing

    def test_it_counts_each_call_in_the_month_the_clock_says(self, api, monkeypatch, customer_account):
        monkeypatch.setitem(quotas.MONTHLY_QUOTAS, quotas.SANDBOX, 2)
        last_moment = datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC)
        _at(monkeypatch, last_moment)
        assert [api.get("/api/workflows").status_code for _ in range(3)] == [200, 200, 429]
        _at(monkeypatch, last_moment + timedelta(microseconds=1))
        response = api.get("/api/workflows")
        assert response.status_code == 200 and response["X-Quota-Remaining"] == "1"
        assert response["X-Quota-Reset"] == "2027-01-01T00:00:00Z"
        quotas.quota_flush()  # the minute job (with Redis)
        months = dict(ApiUsage.objects.filter(account=customer_account).values_list("month", "calls"))
        assert months == {datetime(2026, 11, 1).date(): 3, datetime(2026, 12, 1).date(): 1}

    def test_it_counts_live_and_sandbox_apart_and_shows_the_usage_to_the_customer(self, client, customer_account):
        live = ApiCaller(client, issue_key(customer_account, mode="live").secret)
        sandbox = ApiCaller(client, issue_key(customer_account, mode="test").secret)
        for _ in range(3):
            live.get("/api/workflows")
        sandbox.get("/api/workflows")
        assert quotas.quota_peek(account_id=customer_account.pk, plan="growth", sandbox=False).used == 3
        assert sandbox.get("/api/sandbox/metrics").json()["calls_used"] == 2


# A second process against the same database: its own (empty) local-memory
# cache, its own connection. Prints the status codes of three calls.
_OTHER_PROCESS = """
import json, os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "levqor.settings_test"
django.setup()
from django.conf import settings
settings.DATABASES["default"]["NAME"] = os.environ["H_DB"]
if "KEY_PREFIX" in settings.CACHES["default"]:
    settings.CACHES["default"]["KEY_PREFIX"] = os.environ["H_PREFIX"]
from levqor.api import quotas
quotas.MONTHLY_QUOTAS[quotas.SANDBOX] = 5
from django.test import Client
client = Client()
codes = [client.get("/api/workflows", headers={"X-Api-Key": os.environ["H_KEY"]}).status_code for _ in range(3)]
print(json.dumps(codes))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_shares_the_monthly_count_between_processes_on_any_cache(client, customer_account, settings, monkeypatch):
    monkeypatch.setitem(quotas.MONTHLY_QUOTAS, quotas.SANDBOX, 5)
    issued = issue_key(customer_account, mode="test")
    api = ApiCaller(client, issued.secret)
    assert [api.get("/api/workflows").status_code for _ in range(3)] == [200, 200, 200]
    env = {
        **os.environ,
        "H_DB": connection.settings_dict["NAME"],
        "H_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
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
    assert response.status_code == 429 and response.json()["error"]["code"] == "quota_exceeded"
    assert response["X-Quota-Remaining"] == "0"


@pytest.mark.django_db
class TestSlidingBurst:
    def test_it_never_lets_more_than_the_limit_through_in_any_window(self, api, settings, monkeypatch):
        settings.LEVQOR_API_BURST_PER_KEY = 3
        settings.LEVQOR_API_BURST_WINDOW = 10
        base = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)  # a multiple of 10 s: a fixed window's edge

        def call(seconds: float):
            _at(monkeypatch, base + timedelta(seconds=seconds))
            return api.get("/api/workflows")

        # Three at the end of one fixed window; a fixed window would let
        # three more through just after its edge.
        assert [call(t).status_code for t in (9.0, 9.5, 9.9)] == [200, 200, 200]
        refused = call(10.1)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert refused["Retry-After"] == "9"  # 9.0 + 10 − 10.1, rounded up
        assert refused["X-RateLimit-Remaining"] == "0"
        assert call(18.9).status_code == 429
        allowed = call(19.05)  # the call at 9.0 has aged out: one slot
        assert allowed.status_code == 200 and allowed["X-RateLimit-Remaining"] == "0"
        assert call(19.1).status_code == 429  # 9.5, 9.9 and 19.05 are still inside
        assert call(19.6).status_code == 200

    def test_it_does_not_count_refused_calls_against_the_window(self, api, settings, monkeypatch):
        settings.LEVQOR_API_BURST_PER_KEY = 2
        settings.LEVQOR_API_BURST_WINDOW = 10
        base = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
        for offset in (0, 1, 2, 3, 4, 5, 9):
            _at(monkeypatch, base + timedelta(seconds=offset))
            api.get("/api/workflows")
        _at(monkeypatch, base + timedelta(seconds=10.5))  # only the calls at 0 and 1 were counted
        assert api.get("/api/workflows").status_code == 200


@pytest.mark.django_db
def test_it_refuses_a_revoked_key_on_the_very_next_call(api, sandbox_key, customer_client):
    assert api.get("/api/workflows").status_code == 200  # the key has been seen: anything cached is warm
    response = customer_client.post(f"/account/api-keys/{sandbox_key.key.pk}/revoke")
    assert response.status_code in (200, 302)
    refused = api.get("/api/workflows")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="keys are cached only in a shared Redis")
@pytest.mark.django_db(transaction=True)
def test_a_key_read_before_its_revocation_committed_is_never_served_from_the_cache(api, sandbox_key):
    """A call that read the key just before the revocation committed stores
    it after: its copy carries the old generation, so the next call reads
    the database."""
    assert api.get("/api/workflows").status_code == 200
    _entry, generation_name, _meta = keycache.cache_keys(sandbox_key.key.secret_hash)
    _backend, client = meter._redis()
    stamp_before = client.get(generation_name)
    unrevoked = type(sandbox_key.key).objects.select_related("account").get(pk=sandbox_key.key.pk)
    api_key_revoke(key=sandbox_key.key, actor=None)
    keycache.entry_store(unrevoked, stamp_before)  # the slow reader's copy lands after the commit
    refused = api.get("/api/workflows")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="keys are cached only in a shared Redis")
@pytest.mark.django_db
def test_a_plan_change_applies_to_the_next_call_of_a_cached_key(live_api, customer_account):
    assert live_api.get("/api/workflows")["X-Quota-Limit"] == "5000"  # Growth; the key is now cached
    customer_account.plan = "pro"
    customer_account.save()
    assert live_api.get("/api/workflows")["X-Quota-Limit"] == "10000"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the call's own Redis connection is Redis's")
@pytest.mark.django_db
def test_a_call_after_redis_dropped_the_threads_connection_is_answered_and_counted_once(api, monkeypatch):
    # Each thread keeps its own connection for the call's round trip; Redis
    # may close it (idle timeout, restart). The next call reconnects.
    _at(monkeypatch, NOVEMBER)
    assert api.get("/api/workflows")["X-Quota-Remaining"] == "999"
    line = meter.line()
    own_id = line.command("CLIENT", "ID")
    _backend, other = meter._redis()
    assert other.client_kill_filter(_id=own_id) == 1
    response = api.get("/api/workflows")
    assert response.status_code == 200
    assert response["X-Quota-Remaining"] == "998"  # counted once, not again for the retry
    assert line.command("CLIENT", "ID") != own_id  # a new connection
