"""Reads: what an API key (one account, one mode) may see."""

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from levqor.accounts.models import Account

from .models import Run, RunLog, Workflow


def workflow_list(*, account: Account, sandbox: bool) -> QuerySet[Workflow]:
    return Workflow.objects.filter(account=account, is_sandbox=sandbox, deleted_at__isnull=True)


def workflow_get(*, account: Account, sandbox: bool, workflow_id) -> Workflow | None:
    return workflow_list(account=account, sandbox=sandbox).filter(pk=workflow_id).first()


def run_list(*, account: Account, sandbox: bool, workflow: Workflow | None = None) -> QuerySet[Run]:
    runs = Run.objects.filter(account=account, is_sandbox=sandbox)
    if workflow is not None:
        runs = runs.filter(workflow=workflow)
    return runs


def run_get(*, account: Account, sandbox: bool, run_id) -> Run | None:
    return run_list(account=account, sandbox=sandbox).filter(pk=run_id).first()


def run_log_list(*, run: Run) -> QuerySet[RunLog]:
    return RunLog.objects.filter(run=run).order_by("seq")


def runs_stale(*, queued_before, running_before) -> QuerySet[Run]:
    """Live runs whose task seems lost: queued or running for too long."""
    return Run.objects.filter(is_sandbox=False).filter(
        Q(status=Run.Status.QUEUED, created_at__lt=queued_before)
        | Q(status=Run.Status.RUNNING, started_at__lt=running_before)
    )


def failed_run_count_last_day() -> int:
    since = timezone.now() - timezone.timedelta(days=1)
    return Run.objects.filter(is_sandbox=False, status=Run.Status.FAILED, finished_at__gte=since).count()


def sandbox_stats(*, account: Account, since) -> dict:
    """Counts of the account's sandbox data, for GET /api/sandbox/metrics."""
    runs = Run.objects.filter(account=account, is_sandbox=True, created_at__gte=since)
    totals = runs.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=Run.Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=Run.Status.FAILED)),
        cost=Sum("cost"),
    )
    durations = [
        run.duration_ms for run in runs.filter(finished_at__isnull=False).only("started_at", "finished_at")[:1000]
    ]
    return {
        "workflows": workflow_list(account=account, sandbox=True).count(),
        "runs_total": totals["total"] or 0,
        "runs_succeeded": totals["succeeded"] or 0,
        "runs_failed": totals["failed"] or 0,
        "average_duration_ms": int(sum(durations) / len(durations)) if durations else None,
        "simulated_cost": totals["cost"] or 0,
    }


def workflow_get_owned(*, account: Account, workflow_id) -> Workflow | None:
    """One of the account's workflows, live or sandbox (the customer's own
    pages show both modes; a key sees only its own mode)."""
    return Workflow.objects.filter(account=account, deleted_at__isnull=True, pk=workflow_id).first()


def workflow_list_with_counts(*, account: Account, sandbox: bool) -> QuerySet[Workflow]:
    """The account's workflows of one mode, with run counts and the last run's time."""
    return workflow_list(account=account, sandbox=sandbox).annotate(
        run_count=Count("runs"),
        failed_count=Count("runs", filter=Q(runs__status=Run.Status.FAILED)),
        last_run_at=Max("runs__created_at"),
    )


def run_get_owned(*, account: Account, run_id) -> Run | None:
    """One of the account's runs, live or sandbox, with its workflow."""
    return Run.objects.filter(account=account, pk=run_id).select_related("workflow").first()
