"""The assistant endpoints: shape, quota, screening, audit, and that no
question or answer text is ever stored or logged."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.models import AuditEvent, ScreeningBlock
from levqor.accounts.models import Account
from levqor.api import quotas
from levqor.assist import services
from levqor.assist.models import AiCall
from levqor.workflows import services as workflow_services
from levqor.workflows.models import Workflow

pytestmark = pytest.mark.django_db

SECRET_QUESTION = "How do I rotate an API key without downtime zqxj"


def test_it_answers_a_question_from_the_docs(api):
    response = api.post("/api/ai/chat", {"query": "How do I rotate an API key?", "context": {"page": "/account"}})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"answer", "steps", "meta"}
    assert "overlap" in body["answer"] and body["steps"]
    assert body["meta"] == {
        "provider": "offline",
        "model": "levqor-kb-1",
        "latency_ms": body["meta"]["latency_ms"],
        "fallback": None,
    }


def test_it_says_so_when_the_docs_do_not_cover_it(api):
    body = api.post("/api/ai/chat", {"query": "xyzzy plugh"}).json()

    assert "could not find" in body["answer"] and "/api-docs" in body["answer"]


def test_it_counts_each_call_against_the_quota(api, monkeypatch):
    monkeypatch.setitem(quotas.MONTHLY_QUOTAS, quotas.SANDBOX, 2)

    first = api.post("/api/ai/chat", {"query": "quotas"})
    second = api.post("/api/ai/onboarding")
    third = api.post("/api/ai/chat", {"query": "quotas"})

    assert first["X-Quota-Remaining"] == "1" and second["X-Quota-Remaining"] == "0"
    assert third.status_code == 429 and third.json()["error"]["code"] == "quota_exceeded"
    assert AiCall.objects.count() == 2


def test_it_refuses_high_risk_data_before_any_provider_sees_it(api, settings):
    settings.LEVQOR_AI_PROVIDER = "levqor.assist.tests.fakes.BrokenLlm"

    response = api.post("/api/ai/chat", {"query": "Summarise the patient's diagnosis of cancer"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "high_risk_data" and error["details"]["appeal_url"]
    assert ScreeningBlock.objects.get().kind == "ai_chat"
    call = AiCall.objects.get()
    assert call.outcome == "refused" and call.provider == ""


def test_it_screens_the_context_too(api):
    response = api.post("/api/ai/debug", {"error": "boom", "context": {"card": "4111 1111 1111 1111"}})

    assert response.status_code == 422


def test_it_keeps_and_logs_only_sizes_never_the_text(api, caplog):
    caplog.set_level(logging.DEBUG)

    body = api.post("/api/ai/chat", {"query": SECRET_QUESTION}).json()

    call = AiCall.objects.get()
    assert call.kind == "chat" and call.outcome == "answered" and call.key_prefix.startswith("lvq_test_")
    assert call.input_chars >= len(SECRET_QUESTION) and call.output_chars >= len(body["answer"])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"ai call {call.pk}" in logged
    assert "zqxj" not in logged and body["answer"][:40] not in logged
    event = AuditEvent.objects.get(action="ai.chat")
    assert event.actor_label == f"api-key:{call.key_prefix}"
    assert "zqxj" not in str(event.details) and body["answer"][:40] not in str(event.details)
    assert event.details["input_chars"] == call.input_chars


def test_it_drafts_a_workflow_the_workflows_api_accepts_and_saves_nothing(api):
    response = api.post(
        "/api/ai/workflow",
        {"description": "Summarise each customer enquiry email and post it to https://crm.example.com/hook"},
    )

    assert response.status_code == 200
    body = response.json()
    draft = body["draft"]
    assert [step["type"] for step in draft["steps"]] == ["require", "transform", "llm_mock", "http_mock"]
    assert draft["steps"][-1]["url"] == "https://crm.example.com/hook"
    assert Workflow.objects.count() == 0  # a draft is never saved
    created = api.post("/api/workflows", draft)
    assert created.status_code == 201, created.json()
    assert draft["input_schema"]["required"] == ["email", "name", "message"]
    payload = {"email": "a@b.co", "name": "Ada", "message": "Do you open on Sundays?"}
    run = api.post(f"/api/workflows/{created.json()['id']}/runs", {"payload": payload})
    assert run.json()["status"] == "succeeded"


@pytest.mark.parametrize(
    "description",
    ["x", "Wait 99 seconds", "Send every new lead's phone and name to Slack", "Translate reviews " * 100],
)
def test_every_offline_draft_passes_the_workflow_checks(api, description):
    draft = api.post("/api/ai/workflow", {"description": description[:2000]}).json()["draft"]

    assert api.post("/api/workflows", draft).status_code == 201


def _failed_run(account, *, sandbox=True):
    workflow = workflow_services.workflow_create(
        account=account,
        sandbox=sandbox,
        name="Needs email",
        steps=[{"type": "require", "name": "check", "fields": ["email"]}],
        input_schema={},
        actor=None,
    )
    return workflow_services.run_start(workflow=workflow, payload={}, actor=None)


def test_it_explains_a_failed_run_from_its_logs(api, customer_account):
    run = _failed_run(customer_account)
    assert run.status == "failed"

    body = api.post("/api/ai/debug", {"run_id": str(run.pk)}).json()

    assert 'step "check" (require)' in body["answer"] and "email" in body["answer"]
    assert any("payload" in step for step in body["steps"])


def test_it_explains_an_error_message(api):
    body = api.post("/api/ai/debug", {"error": "429 quota_exceeded", "context": {}}).json()

    assert "quota" in body["answer"].lower()


def test_another_customer_gets_404_for_my_run(other_api, customer_account):
    run = _failed_run(customer_account)

    response = other_api.post("/api/ai/debug", {"run_id": str(run.pk)})

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_sandbox_key_cannot_read_a_live_run(api, customer_account):
    run = _failed_run(customer_account, sandbox=False)

    assert api.post("/api/ai/debug", {"run_id": str(run.pk)}).status_code == 404


@pytest.mark.parametrize("body", [{}, {"run_id": "8d2f7b1a-1c4e-4f8a-b5d6-9e0f1a2b3c4d", "error": "x"}, {"query": "x"}])
def test_bad_debug_input_is_a_400_and_records_nothing(api, body):
    response = api.post("/api/ai/debug", body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"validation_error", "unknown_field"}
    assert AiCall.objects.count() == 0


def test_onboarding_follows_the_accounts_real_state(api, customer_account):
    first = api.post("/api/ai/onboarding").json()
    assert first["steps"][0].startswith("Create your first sandbox workflow")
    assert "1 of" in first["answer"]  # the sandbox key exists

    _failed_run(customer_account)
    second = api.post("/api/ai/onboarding").json()

    assert second["steps"][0] == "Start a sandbox run and read its logs."
    assert any("/api/ai/debug" in step for step in second["steps"])


def test_a_paused_account_may_still_ask_and_is_told_to_fix_billing(api, customer_account):
    Account.objects.filter(pk=customer_account.pk).update(billing_state=Account.BillingState.PAUSED_BILLING)

    body = api.post("/api/ai/onboarding").json()

    assert body["steps"][0].startswith("Update your card on /billing")


def test_it_needs_a_key(client):
    response = client.post("/api/ai/chat", {"query": "hi"}, content_type="application/json")

    assert response.status_code == 401


def test_old_call_records_are_pruned_and_the_audit_stays(api):
    api.post("/api/ai/onboarding")
    AiCall.objects.update(created_at=timezone.now() - timedelta(days=500))

    assert services.ai_calls_prune(before=timezone.now() - timedelta(days=400)) == 1
    assert services.ai_calls_prune(before=timezone.now() - timedelta(days=400)) == 0
    assert AuditEvent.objects.filter(action="ai.onboarding").exists()
