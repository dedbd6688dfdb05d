"""The customer's workflow pages: list, create and edit with errors beside
the field, run with a log viewer, delete behind a confirmation; the same
services (and screening) as the API; another customer gets 404."""

import json

import pytest

from compliance.models import AuditEvent, ScreeningBlock
from levqor.accounts.services import account_set_billing_state
from levqor.workflows.models import Run, Workflow

from .conftest import SIGNUP_SCHEMA, SIGNUP_STEPS, make_workflow

pytestmark = pytest.mark.django_db


def definition(**changes) -> dict:
    data = {
        "mode": "sandbox",
        "name": "Signup welcome",
        "description": "",
        "input_schema": json.dumps(SIGNUP_SCHEMA),
        "steps": json.dumps(SIGNUP_STEPS),
    }
    data.update(changes)
    return data


def test_it_lists_only_the_accounts_workflows_of_the_chosen_mode(customer_client, customer_account, other_customer):
    make_workflow(customer_account, sandbox=False, name="Live one")
    make_workflow(customer_account, sandbox=True, name="Sandbox one")
    make_workflow(other_customer.account, sandbox=False, name="Not yours")

    live = customer_client.get("/account/workflows").content.decode()
    sandbox = customer_client.get("/account/workflows?mode=sandbox").content.decode()

    assert "Live one" in live and "Sandbox one" not in live and "Not yours" not in live
    assert "Sandbox one" in sandbox and "Live one" not in sandbox
    assert 'class="badge badge-sandbox">Sandbox' in sandbox


def test_it_needs_a_customer_sign_in(client, staff):
    assert client.get("/account/workflows").status_code == 302
    client.force_login(staff)
    assert client.get("/account/workflows").status_code == 404


def test_it_creates_a_workflow_through_the_service_and_audits_the_person(customer_client, customer):
    response = customer_client.post("/account/workflows/new", definition())

    workflow = Workflow.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/account/workflows/{workflow.pk}"
    assert workflow.is_sandbox and workflow.steps == SIGNUP_STEPS and workflow.account == customer.account
    assert AuditEvent.objects.filter(action="workflow.created", actor=customer).count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"steps": "[{"}, "steps", "not valid JSON"),
        ({"steps": json.dumps([{"type": "teleport", "name": "x"}])}, "steps", "steps.0"),
        ({"input_schema": json.dumps({"type": "array"})}, "input_schema", "input_schema.type: Run payloads"),
        ({"name": ""}, "name", "This field is required"),
    ],
)
def test_it_shows_definition_errors_beside_the_field_and_writes_nothing(customer_client, changes, field, message):
    response = customer_client.post("/account/workflows/new", definition(**changes))

    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}_error">' in html
    error = html.split(f'id="id_{field}_error">')[1].split("</p>")[0]
    assert message in error
    assert not Workflow.objects.exists()


def test_it_refuses_high_risk_data_with_an_appeal_link(customer_client):
    steps = [{"type": "llm_mock", "name": "triage", "prompt": "Summarise the patient's diagnosis"}]

    response = customer_client.post("/account/workflows/new", definition(steps=json.dumps(steps)))

    block = ScreeningBlock.objects.get()
    assert response.status_code == 400 and not Workflow.objects.exists()
    assert f'href="/high-risk-data/appeal/{block.pk}"' in response.content.decode()


def test_it_edits_a_workflow_but_never_its_mode(customer_client, sandbox_workflow):
    page = customer_client.get(f"/account/workflows/{sandbox_workflow.pk}/edit").content.decode()
    assert "Signup welcome" in page and 'name="mode"' not in page

    data = definition(name="Renamed", mode="live")
    response = customer_client.post(f"/account/workflows/{sandbox_workflow.pk}/edit", data)

    sandbox_workflow.refresh_from_db()
    assert response.status_code == 302
    assert sandbox_workflow.name == "Renamed" and sandbox_workflow.is_sandbox


def test_it_runs_a_sandbox_workflow_and_shows_its_log(customer_client, customer, sandbox_workflow):
    payload = {"email": "ada@example.com", "name": "Ada"}
    response = customer_client.post(f"/account/workflows/{sandbox_workflow.pk}", {"payload": json.dumps(payload)})

    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/account/runs/{run.pk}"
    assert run.status == "succeeded" and run.payload == payload and run.started_by == customer.email
    page = customer_client.get(f"/account/runs/{run.pk}").content.decode()
    assert "Succeeded" in page and "run started (sandbox), 4 step(s)" in page and "ada@example.com" in page
    assert 'http-equiv="refresh"' not in page  # finished: nothing to wait for
    listing = customer_client.get(f"/account/workflows/{sandbox_workflow.pk}").content.decode()
    assert f"/account/runs/{run.pk}" in listing


def test_it_shows_a_payload_that_breaks_the_schema_beside_the_input(customer_client, sandbox_workflow):
    response = customer_client.post(
        f"/account/workflows/{sandbox_workflow.pk}", {"payload": json.dumps({"email": "not an email"})}
    )

    html = response.content.decode()
    assert response.status_code == 400 and not Run.objects.exists()
    assert 'id="id_payload_error">payload.email:' in html


def test_a_queued_live_run_page_refreshes_itself(customer_client, live_workflow, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    from levqor.workflows import services

    run = services.run_start(workflow=live_workflow, payload={"email": "ada@example.com"}, actor=None)

    page = customer_client.get(f"/account/runs/{run.pk}").content.decode()
    assert "Queued" in page and '<meta http-equiv="refresh" content="5">' in page
    assert 'class="badge badge-live">Live' in page


def test_it_filters_the_log_by_level(customer_client, sandbox_workflow):
    customer_client.post(f"/account/workflows/{sandbox_workflow.pk}", {"payload": json.dumps({"email": "a@b.test"})})
    run = Run.objects.get()
    errors_only = customer_client.get(f"/account/runs/{run.pk}?level=error").content.decode()
    assert "run started" not in errors_only and "No lines at this level." in errors_only


def test_it_deletes_only_after_a_confirmation(customer_client, sandbox_workflow):
    confirm = customer_client.get(f"/account/workflows/{sandbox_workflow.pk}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Workflow.objects.get().deleted_at is None

    response = customer_client.post(f"/account/workflows/{sandbox_workflow.pk}/delete")

    assert response.status_code == 302 and Workflow.objects.get().deleted_at is not None
    assert customer_client.get(f"/account/workflows/{sandbox_workflow.pk}").status_code == 404


def test_a_paused_account_is_told_and_nothing_is_written(customer_client, customer_account, sandbox_workflow):
    account_set_billing_state(account=customer_account, state="paused_billing", reason="test", actor=None)

    response = customer_client.post(
        f"/account/workflows/{sandbox_workflow.pk}", {"payload": json.dumps({"email": "a@b.test"})}, follow=True
    )

    assert "read-only" in response.content.decode() and not Run.objects.exists()


def test_another_customer_gets_404_everywhere(client, other_customer, sandbox_workflow):
    run = Run.objects.create(workflow=sandbox_workflow, account=sandbox_workflow.account, is_sandbox=True)
    client.force_login(other_customer)
    for url in (
        f"/account/workflows/{sandbox_workflow.pk}",
        f"/account/workflows/{sandbox_workflow.pk}/edit",
        f"/account/workflows/{sandbox_workflow.pk}/delete",
        f"/account/runs/{run.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/account/workflows/{sandbox_workflow.pk}/delete").status_code == 404
    assert client.post(f"/account/runs/{run.pk}/again").status_code == 404
    assert client.post(f"/account/workflows/{sandbox_workflow.pk}", {"payload": "{}"}).status_code == 404
    assert Workflow.objects.get().deleted_at is None and Run.objects.count() == 1


def test_it_runs_again_with_the_same_input(customer_client, sandbox_workflow):
    customer_client.post(f"/account/workflows/{sandbox_workflow.pk}", {"payload": json.dumps({"email": "a@b.test"})})
    first = Run.objects.get()

    response = customer_client.post(f"/account/runs/{first.pk}/again")

    second = Run.objects.exclude(pk=first.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/account/runs/{second.pk}"
    assert second.payload == first.payload and second.workflow == first.workflow
