"""Writes for workflows and runs: create, change, delete, start and execute.

`actor` is the signed-in user when there is one; API calls pass `actor=None`
and `actor_label` naming the key (e.g. "api-key:lvq_live_ab12cd34").
"""

import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit
from levqor.accounts.models import Account, User

from . import listcache, selectors
from . import steps as engine
from .models import Run, RunLog, Workflow
from .validation import check_input_schema, check_payload, check_steps

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("name", "description", "input_schema", "steps")
QUEUED_GRACE = timezone.timedelta(minutes=10)


def _check_writable(account: Account) -> None:
    if account.billing_state in (Account.BillingState.PAUSED_BILLING, Account.BillingState.CANCELED):
        raise PermissionDenied(f"The account is {account.get_billing_state_display().lower()}: it is read-only.")


def _check_definition(*, name, input_schema, steps) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["This field may not be blank."]
    errors.update(check_input_schema(input_schema))
    errors.update(check_steps(steps))
    if isinstance(steps, list):
        names = [step.get("name") for step in steps if isinstance(step, dict)]
        duplicates = sorted({n for n in names if n and names.count(n) > 1})
        if duplicates:
            errors.setdefault("steps", []).append(f"Step names must be unique: {', '.join(duplicates)}.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def workflow_create(
    *,
    account: Account,
    sandbox: bool,
    name: str,
    steps: list,
    description: str = "",
    input_schema: dict | None = None,
    actor: User | None,
    actor_label: str = "",
) -> Workflow:
    """Create a workflow after checking its schema and steps. Audited. Not idempotent."""
    _check_writable(account)
    input_schema = {} if input_schema is None else input_schema
    _check_definition(name=name, input_schema=input_schema, steps=steps)
    workflow = Workflow.objects.create(
        account=account,
        is_sandbox=sandbox,
        name=name.strip(),
        description=description,
        input_schema=input_schema,
        steps=steps,
    )
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="workflow.created",
        target=workflow,
        details={"name": workflow.name, "sandbox": sandbox, "steps": len(steps)},
    )
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, changes: dict, actor: User | None, actor_label: str = "") -> Workflow:
    """Change some of name, description, input_schema and steps. Audited; a
    repeat with the same values changes nothing more."""
    _check_writable(workflow.account)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({field: ["This field cannot be changed."] for field in unknown})
    merged = {field: changes.get(field, getattr(workflow, field)) for field in EDITABLE_FIELDS}
    _check_definition(name=merged["name"], input_schema=merged["input_schema"], steps=merged["steps"])
    changed = sorted(field for field in EDITABLE_FIELDS if merged[field] != getattr(workflow, field))
    if not changed:
        return workflow
    for field in changed:
        setattr(workflow, field, merged[field].strip() if field == "name" else merged[field])
    workflow.save(update_fields=[*changed, "updated_at"])
    audit.record(
        actor=actor, actor_label=actor_label, action="workflow.updated", target=workflow, details={"fields": changed}
    )
    return workflow


@transaction.atomic
def workflow_delete(*, workflow: Workflow, actor: User | None, actor_label: str = "") -> bool:
    """Delete a workflow (its runs stay readable). Returns False if it already was."""
    _check_writable(workflow.account)
    now = timezone.now()
    if not Workflow.objects.filter(pk=workflow.pk, deleted_at__isnull=True).update(deleted_at=now, updated_at=now):
        return False
    listcache.account_forget(workflow.account_id)
    workflow.deleted_at = now
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="workflow.deleted",
        target=workflow,
        details={"name": workflow.name},
    )
    return True


@transaction.atomic
def run_start(*, workflow: Workflow, payload, actor: User | None, actor_label: str = "") -> Run:
    """Queue a run after checking the payload against the workflow's schema.

    Live runs execute in a django-q2 task started after commit (audited);
    sandbox runs execute here and now, with no side effects."""
    _check_writable(workflow.account)
    check_payload(workflow.input_schema, payload)
    run = Run.objects.create(
        workflow=workflow,
        account_id=workflow.account_id,
        is_sandbox=workflow.is_sandbox,
        payload=payload,
        started_by=(actor_label or (actor.get_username() if actor else ""))[:254],
    )
    if workflow.is_sandbox:
        run_execute(run_id=run.pk)
        run.refresh_from_db()
        return run
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="run.queued",
        target=run,
        details={"workflow": str(workflow.pk)},
    )
    transaction.on_commit(lambda: async_task(run_execute, run_id=str(run.pk), group="workflow-runs"))
    return run


def _claim(run_id) -> bool:
    now = timezone.now()
    return bool(
        Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(status=Run.Status.RUNNING, started_at=now)
    )


class _Logger:
    def __init__(self, run: Run):
        self.run = run
        self.seq = 0

    def __call__(self, message: str, *, level: str = RunLog.Level.INFO, step: str = "", data: dict | None = None):
        self.seq += 1
        RunLog.objects.create(
            run=self.run, seq=self.seq, level=level, step=step, message=message[:1000], data=data or {}
        )


def run_execute(*, run_id) -> bool:
    """Execute a queued run's steps, writing its logs, cost and outcome.

    Safe to run twice (or on two workers): the run is claimed with a
    conditional update from `queued` to `running`, and only the claimer
    executes it. Returns whether this call executed it."""
    with transaction.atomic():
        if not _claim(run_id):
            return False
    run = Run.objects.select_related("workflow").get(pk=run_id)
    log = _Logger(run)
    context: dict = dict(run.payload) if isinstance(run.payload, dict) else {}
    outputs: dict = {}
    cost = engine.COST_PER_RUN
    status, error = Run.Status.SUCCEEDED, ""
    log(f"run started ({'sandbox' if run.is_sandbox else 'live'}), {len(run.workflow.steps)} step(s)")
    for index, step in enumerate(run.workflow.steps):
        name = step.get("name", f"step_{index}")
        try:
            result = engine.execute(step, context, sandbox=run.is_sandbox)
        except engine.StepFailed as exc:
            status, error = Run.Status.FAILED, f"step {name}: {exc}"
            log(error, level=RunLog.Level.ERROR, step=name)
            break
        except Exception as exc:  # a bug in a step must fail the run, not leave it running
            logger.exception("step %s of run %s crashed", name, run.pk)
            status, error = Run.Status.FAILED, f"step {name}: internal error ({type(exc).__name__})"
            log(error, level=RunLog.Level.ERROR, step=name)
            break
        context[name] = result.output
        outputs[name] = result.output
        cost += result.cost
        log(result.log or "done", step=name, data=result.log_data)
    log(f"run {status}", level=RunLog.Level.INFO if status == Run.Status.SUCCEEDED else RunLog.Level.ERROR)
    Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        status=status,
        output={"steps": outputs} if status == Run.Status.SUCCEEDED else None,
        error=error,
        cost=cost.quantize(Decimal("0.000001")),
        finished_at=timezone.now(),
    )
    return True


@transaction.atomic
def run_fail_stale(*, run: Run, reason: str, actor: User | None = None) -> bool:
    """Mark a live run whose task was lost as failed. Safe to run twice."""
    changed = Run.objects.filter(pk=run.pk, status=run.status).update(
        status=Run.Status.FAILED, error=reason, finished_at=timezone.now()
    )
    if changed:
        audit.record(actor=actor, action="run.failed_stale", target=run, details={"reason": reason})
    return bool(changed)


def runs_sweep_stale(*, now) -> dict:
    """Re-queue live runs whose task never started and fail runs stuck in
    `running` past the task timeout. Safe to run twice: re-queued tasks claim
    the run, so a run executes once whatever the number of tasks."""
    running_limit = timezone.timedelta(seconds=2 * settings.Q_CLUSTER["timeout"])
    requeued = failed = 0
    for run in selectors.runs_stale(queued_before=now - QUEUED_GRACE, running_before=now - running_limit)[:500]:
        if run.status == run.Status.QUEUED:
            async_task(run_execute, run_id=str(run.pk), group="workflow-runs")
            requeued += 1
        elif run_fail_stale(run=run, reason="The run stopped responding and was marked failed."):
            failed += 1
    return {"requeued": requeued, "failed": failed}
