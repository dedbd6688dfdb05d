"""GET /api/metrics/app and /metrics: who may read them, what they count,
and that the counts are the same from every web process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from levqor.api.testing import ApiCaller, issue_key
from levqor.lib import backlogs

TOKEN = "metrics-token-for-tests-0123456789"

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    settings.LEVQOR_METRICS_TOKEN = TOKEN
    return {"Authorization": f"Bearer {TOKEN}"}


def test_staff_read_the_seed_figures_and_the_backlogs(staff_client):
    response = staff_client.get("/api/metrics/app")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["uptime_seconds"] >= 0
    assert body["ai_requests_last_5m"] == 0 and body["errors_last_5m"] == 0
    assert body["queue_depth"] == 0 and body["failed_tasks"] == 0
    # Filled by billing, compliance and support from their AppConfig.ready().
    assert {"dunning_due", "data_requests_open", "disputes_open", "chargebacks_evidence_due"} <= set(body["backlogs"])


def test_the_metrics_token_works_for_machines(client, token):
    assert client.get("/api/metrics/app", headers=token).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "customer", "customer_key", "wrong_token"])
def test_everyone_else_gets_403(client, customer, customer_account, token, who):
    headers = {}
    if who == "customer":
        client.force_login(customer)
    elif who == "customer_key":
        headers = {"X-Api-Key": issue_key(customer_account).secret}
    elif who == "wrong_token":
        headers = {"Authorization": "Bearer not-the-token"}

    response = client.get("/api/metrics/app", headers=headers)

    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_a_broken_backlog_count_is_null_not_a_failure(staff_client):
    backlogs.register("broken_thing", count=lambda: 1 / 0, description="Always fails.")
    try:
        body = staff_client.get("/api/metrics/app").json()
    finally:
        backlogs.unregister("broken_thing")

    assert body["backlogs"]["broken_thing"] is None


def test_it_counts_assistant_calls_and_server_errors(client, staff_client, customer_account, settings):
    settings.ROOT_URLCONF = "levqor.metrics.tests.boom_urls"
    ApiCaller(client, issue_key(customer_account).secret).post("/api/ai/chat", {"query": "quotas"})
    failing = Client(raise_request_exception=False)
    assert failing.get("/test/boom").status_code == 500

    body = staff_client.get("/api/metrics/app").json()

    assert body["ai_requests_last_5m"] == 1 and body["errors_last_5m"] == 1


def test_prometheus_metrics_are_off_without_a_token(client, settings):
    settings.LEVQOR_METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404


def test_prometheus_metrics_need_the_token(client, staff_client, token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_prometheus_metrics_in_text_format(client, customer_account, token):
    ApiCaller(client, issue_key(customer_account).secret).post("/api/ai/onboarding")

    response = client.get("/metrics", headers=token)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert 'levqor_ai_requests_total{kind="onboarding",outcome="answered"} 1.0' in text
    assert "levqor_ai_requests_last_5m 1.0" in text
    assert 'levqor_backlog{backlog="dunning_due"} 0.0' in text
    assert "levqor_http_server_errors_total 0.0" in text


# Another web process: the same database, its own memory. It makes one
# assistant call and one failing request.
_OTHER_PROCESS = """
import json, os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "levqor.settings_test"
django.setup()
from django.conf import settings
settings.DATABASES["default"]["NAME"] = os.environ["M_DB"]
settings.ROOT_URLCONF = "levqor.metrics.tests.boom_urls"
from django.test import Client
client = Client(raise_request_exception=False)
codes = [
    client.post("/api/ai/chat", {"query": "quotas"}, content_type="application/json",
                headers={"X-Api-Key": os.environ["M_KEY"]}).status_code,
    client.get("/test/boom").status_code,
]
print(json.dumps(codes))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_counts_add_up_across_web_processes(client, customer_account, settings, token):
    settings.ROOT_URLCONF = "levqor.metrics.tests.boom_urls"
    secret = issue_key(customer_account).secret
    ApiCaller(client, secret).post("/api/ai/chat", {"query": "quotas"})
    assert Client(raise_request_exception=False).get("/test/boom").status_code == 500

    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS],
        env={**os.environ, "M_DB": connection.settings_dict["NAME"], "M_KEY": secret},
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [200, 500]
    body = client.get("/api/metrics/app", headers=token).json()
    assert body["ai_requests_last_5m"] == 2 and body["errors_last_5m"] == 2
    text = client.get("/metrics", headers=token).content.decode()
    assert "levqor_http_server_errors_total 2.0" in text
