import pytest

from compliance.models import AuditEvent
from levqor.accounts.models import Account
from levqor.workflows.models import Run, RunLog, Workflow

from .conftest import make_workflow


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "correlation_id"}
    assert body["error"]["correlation_id"] == response["X-Request-ID"]
    return body["error"]


@pytest.mark.django_db
class TestWorkflows:
    def test_it_creates_lists_reads_changes_and_deletes_a_workflow(self, api, workflow_body):
        created = api.post("/api/workflows", workflow_body)
        assert created.status_code == 201, created.content
        workflow = created.json()
        assert workflow["name"] == "Signup welcome" and workflow["sandbox"] is True
        assert AuditEvent.objects.filter(action="workflow.created", target_id=workflow["id"]).exists()

        listed = api.get("/api/workflows").json()
        assert listed["count"] == 1 and listed["results"][0]["id"] == workflow["id"]
        assert api.get(f"/api/workflows/{workflow['id']}").json()["steps"] == workflow_body["steps"]

        changed = api.patch(f"/api/workflows/{workflow['id']}", {"name": "Signup welcome v2"})
        assert changed.status_code == 200 and changed.json()["name"] == "Signup welcome v2"

        assert api.delete(f"/api/workflows/{workflow['id']}").status_code == 204
        assert api.get(f"/api/workflows/{workflow['id']}").status_code == 404
        assert api.get("/api/workflows").json()["count"] == 0
        assert Workflow.objects.filter(pk=workflow["id"], deleted_at__isnull=False).exists()

    def test_it_rejects_bad_definitions_with_field_errors_and_writes_nothing(self, api, workflow_body):
        bad = {
            **workflow_body,
            "name": "",
            "steps": [{"type": "delay", "name": "Wait!", "seconds": 99}, {"type": "teleport", "name": "x"}],
        }
        response = api.post("/api/workflows", bad)
        assert response.status_code == 400
        error = _error(response)
        assert error["code"] == "validation_error"
        assert "name" in error["details"]["fields"]

        response = api.post("/api/workflows", {**workflow_body, "steps": bad["steps"]})
        fields = _error(response)["details"]["fields"]
        assert "steps.0.name" in fields and "steps.0.seconds" in fields and "steps.1.type" in fields

        response = api.post("/api/workflows", {**workflow_body, "input_schema": {"type": "array"}})
        assert "input_schema.type" in _error(response)["details"]["fields"]
        response = api.post("/api/workflows", {**workflow_body, "input_schema": {"type": 12}})
        assert response.status_code == 400
        response = api.post("/api/workflows", {**workflow_body, "steps": [{"type": "transform", "name": "a\x00"}]})
        assert response.status_code == 400
        assert Workflow.objects.count() == 0

    def test_it_rejects_bad_changes_and_keeps_the_workflow(self, api, sandbox_workflow):
        response = api.patch(f"/api/workflows/{sandbox_workflow.pk}", {"steps": []})
        assert response.status_code == 400
        assert "steps" in _error(response)["details"]["fields"]
        sandbox_workflow.refresh_from_db()
        assert len(sandbox_workflow.steps) == 4

    def test_it_answers_malformed_json_and_wrong_media_type_in_the_error_format(self, api):
        response = api.post("/api/workflows", "{not json")
        assert response.status_code == 400 and _error(response)["code"] == "parse_error"
        response = api.client.post("/api/workflows", "name=x", content_type="text/plain", headers=api.headers())
        assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"
        response = api.client.put("/api/workflows", "{}", content_type="application/json", headers=api.headers())
        assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"

    def test_it_hides_another_customers_workflows_and_runs(self, api, other_api, sandbox_workflow, workflow_body):
        run = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "a@b.co"}}).json()
        for method, path, body in [
            ("get", f"/api/workflows/{sandbox_workflow.pk}", None),
            ("patch", f"/api/workflows/{sandbox_workflow.pk}", {"name": "mine now"}),
            ("delete", f"/api/workflows/{sandbox_workflow.pk}", None),
            ("get", f"/api/workflows/{sandbox_workflow.pk}/runs", None),
            ("post", f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "a@b.co"}}),
            ("get", f"/api/runs/{run['id']}", None),
            ("get", f"/api/runs/{run['id']}/logs", None),
        ]:
            response = getattr(other_api, method)(path, body) if body else getattr(other_api, method)(path)
            assert response.status_code == 404, (method, path)
            assert _error(response)["code"] == "not_found"
        assert other_api.get("/api/workflows").json()["count"] == 0
        sandbox_workflow.refresh_from_db()
        assert sandbox_workflow.name == "Signup welcome" and sandbox_workflow.deleted_at is None
        assert Run.objects.count() == 1

    def test_it_keeps_sandbox_and_live_data_apart(self, api, live_api, sandbox_workflow, live_workflow):
        assert [w["id"] for w in api.get("/api/workflows").json()["results"]] == [str(sandbox_workflow.pk)]
        assert [w["id"] for w in live_api.get("/api/workflows").json()["results"]] == [str(live_workflow.pk)]
        assert api.get(f"/api/workflows/{live_workflow.pk}").status_code == 404
        assert live_api.get(f"/api/workflows/{sandbox_workflow.pk}").status_code == 404


@pytest.mark.django_db
class TestRuns:
    def test_it_rejects_a_payload_that_breaks_the_schema_with_field_errors(self, api, sandbox_workflow):
        response = api.post(
            f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "not-an-email", "nickname": "x"}}
        )
        assert response.status_code == 400
        fields = _error(response)["details"]["fields"]
        assert "payload.email" in fields
        assert "payload" in fields  # additionalProperties names the extra field
        response = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"name": "Ada"}})
        assert _error(response)["details"]["fields"] == {"payload.email": ["This field is required."]}
        response = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": "nope"})
        assert response.status_code == 400
        assert Run.objects.count() == 0

    def test_it_completes_a_sandbox_run_instantly_with_realistic_results(self, api, sandbox_workflow):
        response = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "ada@example.com"}})
        assert response.status_code == 201
        run = response.json()
        assert run["status"] == "succeeded" and run["sandbox"] is True
        assert run["output"]["steps"]["greet"]["subject"] == "Welcome  <ada@example.com>"
        assert run["output"]["steps"]["draft"]["model"] == "levqor-mock-1"
        assert run["output"]["steps"]["send"]["status"] == 200
        assert float(run["cost"]) > 0 and run["duration_ms"] is not None and run["finished_at"]
        logs = api.get(run["logs_url"]).json()
        assert logs["count"] == 6 and logs["results"][0]["seq"] == 1
        assert not AuditEvent.objects.filter(action="run.queued").exists()  # sandbox: no side effects

    def test_it_queues_a_live_run_and_the_task_moves_it_to_succeeded(
        self, live_api, live_workflow, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = live_api.post(f"/api/workflows/{live_workflow.pk}/runs", {"payload": {"email": "a@b.co"}})
        assert response.status_code == 201
        run = response.json()
        assert run["status"] == "queued" and run["started_at"] is None
        assert AuditEvent.objects.filter(action="run.queued", target_id=run["id"]).exists()
        for callback in callbacks:
            callback()  # django-q2 runs the task inline in tests (sync: True)
        run = live_api.get(f"/api/runs/{run['id']}").json()
        assert run["status"] == "succeeded"
        assert run["started_at"] and run["finished_at"] and run["duration_ms"] >= 0
        assert live_api.get(f"/api/workflows/{live_workflow.pk}/runs").json()["count"] == 1

    def test_it_reports_a_failed_run_with_its_error_and_logs(self, api, customer_account):
        workflow = make_workflow(
            customer_account,
            sandbox=True,
            input_schema={},
            steps=[{"type": "require", "name": "check", "fields": ["order_id"]}],
        )
        run = api.post(f"/api/workflows/{workflow.pk}/runs", {"payload": {}}).json()
        assert run["status"] == "failed" and "order_id" in run["error"] and run["output"] is None
        levels = [line["level"] for line in api.get(f"/api/runs/{run['id']}/logs").json()["results"]]
        assert "error" in levels

    def test_it_paginates_logs(self, api, sandbox_workflow):
        run = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "a@b.co"}}).json()
        page = api.get(f"/api/runs/{run['id']}/logs", {"page_size": 2, "page": 2}).json()
        assert page["count"] == 6 and [line["seq"] for line in page["results"]] == [3, 4]
        assert page["next"] and page["previous"]
        response = api.get(f"/api/runs/{run['id']}/logs", {"page": 99})
        assert response.status_code == 400 and _error(response)["code"] == "validation_error"
        assert _error(response)["details"]["fields"]["page"] == ["Page 99 is past the end: there are 1 page(s)."]

    def test_it_runs_a_deleted_workflows_history_but_not_new_runs(self, api, sandbox_workflow):
        run = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "a@b.co"}}).json()
        api.delete(f"/api/workflows/{sandbox_workflow.pk}")
        assert api.get(f"/api/runs/{run['id']}").status_code == 200
        assert api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {}}).status_code == 404


@pytest.mark.django_db
class TestPausedAccount:
    def test_it_lets_a_paused_account_read_but_not_start_runs(self, live_api, live_workflow, customer_account):
        Account.objects.filter(pk=customer_account.pk).update(billing_state=Account.BillingState.PAUSED_BILLING)
        assert live_api.get("/api/workflows").status_code == 200
        assert live_api.get(f"/api/workflows/{live_workflow.pk}").status_code == 200
        response = live_api.post(f"/api/workflows/{live_workflow.pk}/runs", {"payload": {"email": "a@b.co"}})
        assert response.status_code == 402
        error = _error(response)
        assert error["code"] == "account_paused" and "paused" in error["message"]
        assert live_api.patch(f"/api/workflows/{live_workflow.pk}", {"name": "x"}).status_code == 402
        assert live_api.delete(f"/api/workflows/{live_workflow.pk}").status_code == 402
        assert Run.objects.count() == 0

    def test_it_makes_a_canceled_account_read_only(self, live_api, live_workflow, customer_account):
        Account.objects.filter(pk=customer_account.pk).update(billing_state=Account.BillingState.CANCELED)
        assert live_api.get(f"/api/workflows/{live_workflow.pk}").status_code == 200
        response = live_api.post(f"/api/workflows/{live_workflow.pk}/runs", {"payload": {"email": "a@b.co"}})
        assert response.status_code == 403 and _error(response)["code"] == "account_read_only"


@pytest.mark.django_db
def test_it_reports_sandbox_metrics(api, sandbox_workflow, customer_account):
    api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "a@b.co"}})
    api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "c@d.co"}})
    make_workflow(customer_account, sandbox=False)
    metrics = api.get("/api/sandbox/metrics").json()
    assert metrics["workflows"] == 1
    assert metrics["runs_total"] == 2 and metrics["runs_succeeded"] == 2 and metrics["runs_failed"] == 0
    assert metrics["calls_limit"] == 1000 and metrics["calls_used"] == 3  # the two runs and this call
    assert metrics["calls_remaining"] == 997
    assert float(metrics["simulated_cost"]) > 0
    assert RunLog.objects.filter(run__is_sandbox=True).count() == 12


@pytest.mark.django_db
def test_it_answers_an_oversized_body_with_413_and_writes_nothing(api, settings, workflow_body):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/workflows", {**workflow_body, "description": "x" * 2000})
    assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"
    assert Workflow.objects.count() == 0
