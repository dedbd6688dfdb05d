"""django-q2 entry points for workflow runs: thin, they call services."""

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from . import selectors, services

QUEUED_GRACE = timezone.timedelta(minutes=10)


def run_execute(run_id: str) -> bool:
    """Execute one queued run. Safe to run twice: only the first call claims it."""
    return services.run_execute(run_id=run_id)


def sweep_stale_runs() -> dict:
    """Re-queue live runs whose task never started and fail runs stuck in
    `running` past the task timeout. Safe to run twice: re-queued tasks claim
    the run, so a run executes once whatever the number of tasks."""
    now = timezone.now()
    running_limit = timezone.timedelta(seconds=2 * settings.Q_CLUSTER["timeout"])
    requeued = failed = 0
    for run in selectors.runs_stale(queued_before=now - QUEUED_GRACE, running_before=now - running_limit)[:500]:
        if run.status == run.Status.QUEUED:
            async_task("levqor.workflows.tasks.run_execute", str(run.pk), group="workflow-runs")
            requeued += 1
        elif services.run_fail_stale(run=run, reason="The run stopped responding and was marked failed."):
            failed += 1
    return {"requeued": requeued, "failed": failed}
