import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from compliance.models import AuditEvent
from levqor.accounts.models import Account
from levqor.workflows import services, steps, tasks
from levqor.workflows.models import Run, RunLog, Workflow

from .conftest import make_workflow


@pytest.mark.django_db
class TestRunExecution:
    def test_it_executes_a_run_once_however_often_the_task_runs(self, live_workflow):
        run = Run.objects.create(workflow=live_workflow, account=live_workflow.account, payload={"email": "a@b.co"})
        assert services.run_execute(run_id=str(run.pk)) is True
        assert services.run_execute(run_id=str(run.pk)) is False
        run.refresh_from_db()
        assert run.status == "succeeded"
        assert RunLog.objects.filter(run=run).count() == 6

    def test_it_fails_a_run_whose_step_crashes_instead_of_leaving_it_running(self, live_workflow, monkeypatch):
        def crash(step, context, *, sandbox):
            raise KeyError("bug")

        monkeypatch.setitem(steps.HANDLERS, "transform", crash)
        run = Run.objects.create(workflow=live_workflow, account=live_workflow.account, payload={"email": "a@b.co"})
        services.run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "failed" and "internal error (KeyError)" in run.error and run.finished_at

    def test_it_queues_the_task_only_after_commit(self, live_workflow, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            run = services.run_start(workflow=live_workflow, payload={"email": "a@b.co"}, actor=None)
            assert Run.objects.get(pk=run.pk).status == "queued"
        assert len(callbacks) == 1
        assert Run.objects.get(pk=run.pk).status == "succeeded"

    def test_it_refuses_runs_for_paused_accounts_at_the_service_too(self, live_workflow):
        Account.objects.filter(pk=live_workflow.account_id).update(billing_state="paused_billing")
        live_workflow.account.refresh_from_db()
        with pytest.raises(PermissionDenied):
            services.run_start(workflow=live_workflow, payload={"email": "a@b.co"}, actor=None)
        assert Run.objects.count() == 0

    def test_it_refuses_a_payload_when_the_schema_cannot_be_evaluated(self, customer_account):
        workflow = make_workflow(customer_account, sandbox=True, input_schema={})
        Workflow.objects.filter(pk=workflow.pk).update(input_schema={"$ref": "https://example.com/schema.json"})
        workflow.refresh_from_db()
        with pytest.raises(ValidationError) as caught:
            services.run_start(workflow=workflow, payload={}, actor=None)
        assert "input_schema" in caught.value.message_dict
        assert Run.objects.count() == 0

    def test_it_refuses_unusable_input_schemas(self, customer_account):
        for schema in ({"$ref": "https://example.com/x.json"}, {"type": "object", "pattern": "["}):
            with pytest.raises(ValidationError):
                make_workflow(customer_account, sandbox=True, input_schema=schema)
        assert Workflow.objects.count() == 0


@pytest.mark.django_db
class TestStaleRuns:
    def test_it_requeues_lost_runs_and_fails_stuck_ones_once(self, live_workflow, settings):
        old = timezone.now() - timezone.timedelta(hours=2)
        queued = Run.objects.create(workflow=live_workflow, account=live_workflow.account, payload={"email": "a@b.co"})
        Run.objects.filter(pk=queued.pk).update(created_at=old)
        stuck = Run.objects.create(
            workflow=live_workflow, account=live_workflow.account, status="running", started_at=old, created_at=old
        )
        fresh = Run.objects.create(workflow=live_workflow, account=live_workflow.account, payload={"email": "a@b.co"})

        assert tasks.runs_sweep_stale() == {"requeued": 1, "failed": 1}
        assert Run.objects.get(pk=queued.pk).status == "succeeded"  # the re-queued task ran inline (sync)
        assert Run.objects.get(pk=stuck.pk).status == "failed"
        assert Run.objects.get(pk=fresh.pk).status == "queued"
        assert tasks.runs_sweep_stale() == {"requeued": 0, "failed": 0}
        assert AuditEvent.objects.filter(action="run.failed_stale").count() == 1


class TestEngine:
    def test_it_fills_placeholders_without_evaluating_anything(self):
        context = {"name": "Ada", "order": {"id": 7}, "secret": object()}
        assert steps.render("Hi {{name}} #{{ order.id }}", context) == "Hi Ada #7"
        assert steps.render("{{name.__class__}} {{missing}}", context) == " "

    def test_it_simulates_llm_and_http_calls_deterministically(self):
        llm = steps.execute(
            {"type": "llm_mock", "name": "x", "prompt": "Summarise {{t}}"}, {"t": "a b c"}, sandbox=True
        )
        again = steps.execute(
            {"type": "llm_mock", "name": "x", "prompt": "Summarise {{t}}"}, {"t": "a b c"}, sandbox=True
        )
        assert llm.output == again.output and llm.output["model"] == steps.MOCK_MODEL and llm.cost > 0
        http = steps.execute({"type": "http_mock", "name": "h", "url": "https://x.test/y"}, {"a": 1}, sandbox=False)
        assert http.output["status"] == 200 and http.output["body"]["echo"] == {"a": 1}

    def test_it_skips_delays_in_the_sandbox(self, monkeypatch):
        slept = []
        monkeypatch.setattr(steps.time, "sleep", slept.append)
        steps.execute({"type": "delay", "name": "d", "seconds": 3}, {}, sandbox=True)
        assert slept == []
        steps.execute({"type": "delay", "name": "d", "seconds": 3}, {}, sandbox=False)
        assert slept == [3.0]


@pytest.mark.django_db
def test_it_seeds_demo_data_once(staff, customer_account, other_customer):
    from levqor.api import demo as api_demo
    from levqor.api.models import ApiKey
    from levqor.workflows import demo

    out = io.StringIO()
    for _ in range(2):
        demo.seed(admin=staff, stdout=out)
        api_demo.seed(admin=staff, stdout=out)
    assert Workflow.objects.filter(account=customer_account).count() == 3
    assert Run.objects.filter(account=customer_account, status="failed").count() == 2
    assert Run.objects.filter(account=customer_account, status="succeeded").count() == 4
    assert ApiKey.objects.filter(account=customer_account, mode="test").count() == 1
    assert "lvq_test_" in out.getvalue()
