"""High-risk data screening on the workflows API: critical definitions and
run payloads are refused with a reason and an appeal link, and nothing is
written; an approved appeal lets that exact payload through for that account."""

import pytest

from compliance import screening
from compliance.models import ScreeningBlock
from levqor.workflows.models import Run, Workflow

pytestmark = pytest.mark.django_db

MEDICAL_STEPS = [{"type": "llm_mock", "name": "triage", "prompt": "Summarise the patient's diagnosis"}]


def _error(response):
    return response.json()["error"]


def test_it_refuses_a_critical_workflow_definition_with_reason_and_appeal_link(api, workflow_body):
    body = {**workflow_body, "steps": MEDICAL_STEPS}

    response = api.post("/api/workflows", body)

    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "high_risk_data"
    assert "medical" in error["message"].lower()
    assert error["details"]["appeal_url"].startswith("http://testserver/high-risk-data/appeal/")
    assert error["details"]["findings"] and all("path" in f for f in error["details"]["findings"])
    assert error["correlation_id"]
    assert Workflow.objects.count() == 0
    block = ScreeningBlock.objects.get()
    assert block.kind == "workflow_definition" and block.status == ScreeningBlock.Status.BLOCKED


def test_it_refuses_a_critical_change_and_keeps_the_workflow(api, sandbox_workflow):
    response = api.patch(f"/api/workflows/{sandbox_workflow.pk}", {"steps": MEDICAL_STEPS})

    assert response.status_code == 422
    sandbox_workflow.refresh_from_db()
    assert "diagnosis" not in str(sandbox_workflow.steps)


def test_it_refuses_a_critical_run_payload_and_starts_no_run(api, sandbox_workflow):
    response = api.post(
        f"/api/workflows/{sandbox_workflow.pk}/runs",
        {"payload": {"email": "ada@example.com", "name": "card 4111 1111 1111 1111"}},
    )

    assert response.status_code == 422
    assert _error(response)["code"] == "high_risk_data"
    assert Run.objects.count() == 0
    assert ScreeningBlock.objects.get().kind == "run_payload"


def test_ordinary_workflows_and_runs_pass_screening(api, workflow_body):
    created = api.post("/api/workflows", workflow_body)
    assert created.status_code == 201
    run = api.post(f"/api/workflows/{created.json()['id']}/runs", {"payload": {"email": "ada@example.com"}})
    assert run.status_code == 201
    assert not ScreeningBlock.objects.exists()


def test_an_approved_appeal_lets_the_same_definition_through(api, workflow_body, customer, staff):
    body = {**workflow_body, "steps": MEDICAL_STEPS}
    assert api.post("/api/workflows", body).status_code == 422
    block = ScreeningBlock.objects.get()
    appeal = screening.appeal_submit(block=block, user=customer, explanation="Synthetic test data, no patients.")
    screening.appeal_decide(appeal=appeal, approve=True, note="Fine", actor=staff)

    assert api.post("/api/workflows", body).status_code == 201
    assert Workflow.objects.count() == 1
