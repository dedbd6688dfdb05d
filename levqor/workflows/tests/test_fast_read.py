"""GET /api/workflows answered from the shared copy without DRF
(`levqor.api.fastread`): the same answer DRF gives, every call counted
once whichever way it is answered, and nothing the full path refuses is
ever served."""

import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from levqor.api import fastread, keycache, meter, quotas
from levqor.api.models import ApiKey
from levqor.api.services import api_key_revoke

from .conftest import make_workflow

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the fast read needs the shared Redis"),
    pytest.mark.django_db,
]

REQUEST_ID = "fast-read-test-0001"
PER_CALL = {"X-RateLimit-Remaining", "X-Quota-Remaining", "X-RateLimit-Reset"}


@pytest.fixture
def answered(monkeypatch):
    """How each call was answered: True by the fast read, False by DRF."""
    ways = []
    real = fastread.answer

    def spy(request, **kwargs):
        response = real(request, **kwargs)
        ways.append(response is not None)
        return response

    monkeypatch.setattr(fastread, "answer", spy)
    return ways


def _poll(api, **headers):
    return api.get("/api/workflows", headers={"X-Request-ID": REQUEST_ID, **headers})


def _described(response) -> tuple:
    headers = sorted((name, value) for name, value in response.items() if name not in PER_CALL)
    return response.status_code, response.content, headers


def test_it_answers_a_poll_exactly_as_drf_does(api, customer_account, answered, monkeypatch):
    make_workflow(customer_account, sandbox=True, name="First")
    make_workflow(customer_account, sandbox=True, name="Second")
    _poll(api)  # the first call builds the copy (DRF)
    fast = _poll(api)
    monkeypatch.setattr(fastread, "answer", lambda request, **kwargs: None)
    full = _poll(api)

    assert answered == [False, True]
    assert fast.status_code == 200
    assert [row["name"] for row in fast.json()["results"]] == ["Second", "First"]
    assert _described(fast) == _described(full)
    assert int(fast["X-Quota-Remaining"]) == int(full["X-Quota-Remaining"]) + 1


def test_every_call_is_counted_once_whichever_way_it_is_answered(api, sandbox_key, customer_account, answered):
    make_workflow(customer_account, sandbox=True)
    remaining = [int(_poll(api)["X-Quota-Remaining"]) for _ in range(3)]
    # The key's cached entry is outdated (as by any change to the key or its
    # account): the next call reads the row and writes its last use, so DRF
    # answers it, with the round trip the fast read already took.
    ApiKey.objects.filter(pk=sandbox_key.key.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    keycache.keys_forget([sandbox_key.key.secret_hash])
    remaining += [int(_poll(api)["X-Quota-Remaining"]) for _ in range(3)]

    assert answered[:3] == [False, True, True]
    assert False in answered[3:]
    assert remaining == list(range(remaining[0], remaining[0] - 6, -1))
    quotas.quota_flush()
    assert quotas.quota_peek(account_id=customer_account.pk, plan="growth", sandbox=True).used == 6


def test_a_revoked_key_is_refused_on_the_very_next_call(api, sandbox_key, answered):
    _poll(api)
    assert _poll(api).status_code == 200 and answered[-1] is True

    api_key_revoke(key=sandbox_key.key, actor=None)
    refused = _poll(api)

    assert answered[-1] is False
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"


def test_a_used_up_quota_is_refused_not_served(api, customer_account, answered):
    _poll(api)
    limit = int(_poll(api)["X-Quota-Limit"])
    label = quotas.period(quotas.now())[0]
    _backend, client = meter._redis()
    client.set(meter.full_key(f"api:quota:{customer_account.pk}:test:{label}"), limit)

    refused = _poll(api)

    assert answered[-1] is False
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
    assert refused["X-Quota-Remaining"] == "0"


def test_a_burst_over_the_keys_limit_is_refused_not_served(api, settings, answered):
    settings.LEVQOR_API_BURST_PER_KEY = 3
    statuses = [_poll(api).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert answered[-1] is False


def test_a_change_to_the_workflows_shows_on_the_next_fast_call(api, customer_account, answered):
    workflow = make_workflow(customer_account, sandbox=True, name="Before")
    _poll(api)
    assert _poll(api).json()["results"][0]["name"] == "Before" and answered[-1] is True

    workflow.name = "After"
    workflow.save()

    assert _poll(api).json()["results"][0]["name"] == "After"


def test_what_the_fast_read_does_not_answer_goes_to_drf(api, customer_account, answered):
    make_workflow(customer_account, sandbox=True)
    _poll(api)
    indented = _poll(api, Accept="application/json; indent=2")
    head = api.client.head("/api/workflows", headers={"X-Api-Key": api.secret})
    bad_key = api.get("/api/workflows", headers={"X-Api-Key": "lvq_test_" + "x" * 32})

    assert answered == [False, False, False, False]
    assert indented.status_code == 200 and b"\n  " in indented.content
    assert json.loads(indented.content) == json.loads(_poll(api).content)
    assert head.status_code == 200
    assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "invalid_api_key"
