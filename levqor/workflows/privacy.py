"""What workflows hold about a person, for DSAR export, erasure and
retention. Workflows, runs and logs belong to the person's account; every
query is scoped to it, and rows are streamed in chunks."""

from django.db.models import Q

from compliance.dsar.providers import ExportFile, Processing, Provider
from levqor.accounts.privacy import sole_member

from . import listcache
from .models import Run, RunLog, Workflow

CHUNK = 2000
ERASED = "[erased]"


def workflow_rows(*, user):
    if not user.account_id:
        return
    yield from (
        Workflow.objects.filter(account_id=user.account_id)
        .order_by("created_at", "id")
        .values(
            "id", "name", "description", "is_sandbox", "input_schema", "steps", "created_at", "updated_at", "deleted_at"
        )
        .iterator(chunk_size=CHUNK)
    )


def run_rows(*, user):
    if not user.account_id:
        return
    yield from (
        Run.objects.filter(account_id=user.account_id)
        .order_by("created_at", "id")
        .values(
            "id",
            "workflow_id",
            "is_sandbox",
            "status",
            "payload",
            "output",
            "error",
            "cost",
            "started_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        .iterator(chunk_size=CHUNK)
    )


def log_rows(*, user):
    """Non-sensitive fields only: the step's internal `data` stays out."""
    if not user.account_id:
        return
    yield from (
        RunLog.objects.filter(run__account_id=user.account_id)
        .order_by("run_id", "seq")
        .values("run_id", "seq", "at", "level", "step", "message")
        .iterator(chunk_size=CHUNK)
    )


def erase_user(*, user, actor) -> dict:
    """When the account closes with this person: keep the facts (counts,
    statuses, timings, costs, step types), drop the content (names, texts,
    payloads, outputs, log messages). Otherwise only their name on runs."""
    if not user.account_id:
        return {}
    if not sole_member(user):
        who = Q(started_by__iexact=user.email)
        if user.name:
            who |= Q(started_by__iexact=user.name)
        runs = Run.objects.filter(account_id=user.account_id).filter(who)
        return {"runs_anonymised": runs.update(started_by=ERASED)}
    workflows = 0
    for workflow in Workflow.objects.filter(account_id=user.account_id).only("pk", "steps").iterator(chunk_size=500):
        steps = [
            {"type": s.get("type", ""), "name": f"step-{i + 1}"}
            for i, s in enumerate(workflow.steps or [])
            if isinstance(s, dict)
        ]
        Workflow.objects.filter(pk=workflow.pk).update(
            name=f"Workflow {str(workflow.pk)[:8]}", description="", input_schema={}, steps=steps
        )
        workflows += 1
    listcache.account_forget(user.account_id)
    runs = Run.objects.filter(account_id=user.account_id).update(payload={}, output=None, error="", started_by=ERASED)
    logs = RunLog.objects.filter(run__account_id=user.account_id).update(message=ERASED, data={}, step="")
    return {"workflows_anonymised": workflows, "runs_anonymised": runs, "logs_anonymised": logs}


def prune_run_logs(*, cutoff, dry_run: bool) -> int:
    """Delete log lines older than `cutoff` in batches (a big table must not
    be locked in one statement)."""
    old = RunLog.objects.filter(at__lt=cutoff)
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        ids = list(old.order_by("pk").values_list("pk", flat=True)[:5000])
        if not ids:
            return deleted
        deleted += RunLog.objects.filter(pk__in=ids).delete()[0]


provider = Provider(
    name="workflows",
    files={
        "workflows.json": ExportFile(
            "Your organisation's workflows: name, description, input schema, steps and dates.", rows=workflow_rows
        ),
        "runs.json": ExportFile(
            "Every run of those workflows: status, payload, output, error, cost, who started it and when.",
            rows=run_rows,
        ),
        "logs.json": ExportFile(
            "The log lines runs wrote (run, order, time, level, step, message); internal step data is left out.",
            rows=log_rows,
        ),
    },
    erase=erase_user,
    retention={"run_logs": prune_run_logs},
    covers=("workflows.Workflow", "workflows.Run", "workflows.RunLog"),
    prunes={"run_logs": ("workflows.RunLog",)},
    processing=(
        Processing(
            activity="Running customers' workflows",
            subjects="People whose data customers put in workflow runs",
            data="Run payloads, outputs, errors and log lines",
            purpose="Run the automations the customer built (Levqor acts as the customer's processor)",
            legal_basis="Contract (art. 6(1)(b)); the customer is the controller of run data",
            retention_kind="run_logs",
            recipients=("Cloud hosting provider",),
        ),
    ),
)
