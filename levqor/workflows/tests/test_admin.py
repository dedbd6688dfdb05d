import pytest

from levqor.workflows.models import Run


@pytest.mark.django_db
def test_it_shows_workflow_and_run_admin_pages(staff_client, api, sandbox_workflow):
    run = api.post(f"/api/workflows/{sandbox_workflow.pk}/runs", {"payload": {"email": "a@b.co"}}).json()
    assert staff_client.get("/admin/workflows/workflow/").status_code == 200
    assert staff_client.get(f"/admin/workflows/workflow/{sandbox_workflow.pk}/change/").status_code == 200
    assert staff_client.get("/admin/workflows/run/?status=failed_live").status_code == 200
    page = staff_client.get(f"/admin/workflows/run/{run['id']}/change/")
    assert page.status_code == 200 and "run succeeded" in page.content.decode()


@pytest.mark.django_db
def test_it_counts_failed_live_runs_on_the_admin_index(staff_client, live_workflow):
    from django.utils import timezone

    Run.objects.create(
        workflow=live_workflow, account=live_workflow.account, status="failed", finished_at=timezone.now()
    )
    page = staff_client.get("/admin/").content.decode()
    assert "Live workflow runs failed in the last 24 h" in page
