"""The dunning sweep: each pending case moves up the ladder of
`billing.stages` as it ages, its stage's email queued once per (case,
stage) in the outbox and the account paused at the pausing stage. Safe to run twice or
on several workers at once."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit
from levqor.accounts.models import Account, User
from levqor.accounts.services import account_set_billing_state

from . import selectors, stages
from .models import DunningCase
from .notices import notices_queue

logger = logging.getLogger(__name__)


def stage_due(case: DunningCase, now: datetime) -> str | None:
    """The most advanced stage the case's age has reached, if beyond its current one."""
    due = stages.reached(now - case.opened_at)
    if due is None or stages.rank(due.code) <= stages.rank(case.stage):
        return None
    return due.code


def cases_enqueue_advance(case_ids: list[int]) -> None:
    """Advance just-opened cases in a worker now (their day-0 email), with
    the sweep's own stage update so it is sent once whoever runs first. Never
    raises: if the broker is down the hourly sweep sends it."""
    try:
        async_task(cases_advance, case_ids=case_ids, task_name=f"dunning-advance-{case_ids[0]}")
    except Exception:
        logger.exception("could not enqueue the advance of %d new cases; the sweep will", len(case_ids))


def case_advance(*, case_id: int, now: datetime, actor: User | None = None) -> str | None:
    """Advance one case if due (see `cases_advance`). Returns the stage or None."""
    return cases_advance(case_ids=[case_id], now=now, actor=actor).get(case_id)


@transaction.atomic
def cases_advance(*, case_ids: list[int], now: datetime | None = None, actor: User | None = None) -> dict[int, str]:
    """Move each pending case to the stage its age calls for and queue that
    stage's email in the outbox (once per (case, stage), sent after commit);
    a pausing stage (day 14) pauses the account. One transaction and one
    audit entry per batch, so 100,000 cases stay cheap.

    Workers racing: the batch's rows are locked first (PostgreSQL: FOR UPDATE
    SKIP LOCKED, so a second worker takes other rows; SQLite: the IMMEDIATE
    transaction holds the write lock), then re-read, so a row another worker
    advanced meanwhile is no longer due. The stage update is still
    conditional on the old stage, and the batch rolls back if any row
    changed under it. Returns {case id: stage} for the cases this call
    advanced (now by default). Safe to run twice."""
    now = now or timezone.now()
    cases = DunningCase.objects.filter(pk__in=case_ids, status=DunningCase.Status.PENDING).select_related("account")
    if connection.features.has_select_for_update_skip_locked:
        cases = cases.select_for_update(skip_locked=True, of=("self",))
    plan = [(case, case.stage, stage_due(case, now)) for case in cases.order_by("pk")]
    plan = [(case, previous, stage) for case, previous, stage in plan if stage]
    if not plan:
        return {}
    groups: dict[tuple[str, str], list[int]] = {}
    for case, previous, stage in plan:
        groups.setdefault((previous, stage), []).append(case.pk)
    changed_at = timezone.now()
    for (previous, stage), ids in groups.items():
        following = stages.following(stage)
        next_action = F("opened_at") + timedelta(days=following.day) if following else None
        won = DunningCase.objects.filter(pk__in=ids, status=DunningCase.Status.PENDING, stage=previous).update(
            stage=stage, next_action_at=next_action, updated_at=changed_at
        )
        if won != len(ids):
            raise RuntimeError("Dunning cases changed under a locked batch; it is rolled back and retried next run.")
    audit.record(
        actor=actor,
        action="dunning.stages_advanced",
        target_type=DunningCase._meta.label_lower,
        details={
            "as_of": now.isoformat(),
            "cases": {
                str(case.pk): {
                    "from": previous,
                    "to": stage,
                    "skipped": stages.skipped(previous, stage),
                }
                for case, previous, stage in plan
            },
        },
    )
    for case, _, stage in plan:
        case.stage = stage
        row = stages.by_code(stage)
        if row.pauses and case.account is not None:
            if account_set_billing_state(
                account=case.account,
                state=Account.BillingState.PAUSED_BILLING,
                reason=f"dunning case #{case.pk}: {row.day} days unpaid",
                actor=actor,
            ):
                audit.record(
                    actor=actor, action="dunning.account_paused", target=case, details={"account": case.account_id}
                )
    # Queued in this transaction, sent after it commits, in one task for the batch.
    notices_queue(pairs=[(case, stage) for case, _, stage in plan])
    return {case.pk: stage for case, _, stage in plan}


@dataclass
class RunResult:
    due: int = 0
    advanced: dict = field(default_factory=dict)

    def describe(self, *, dry_run: bool) -> str:
        stages = ", ".join(f"{stage}: {count}" for stage, count in sorted(self.advanced.items())) or "none"
        verb = "would advance" if dry_run else "advanced"
        return f"{self.due} cases due; {verb} {stages}."


def dunning_run(
    *, now: datetime | None = None, dry_run: bool = False, actor: User | None = None, batch_size: int = 1000
) -> RunResult:
    """The scheduled sweep: advance every due case, in batches of one
    transaction each. The outbox's own sweep delivers emails a crashed
    worker left or whose retry is due. Safe to run twice or on several
    workers at once."""
    now = now or timezone.now()
    result = RunResult()
    for ids in selectors.case_ids_due(now=now, batch_size=batch_size):
        result.due += len(ids)
        if dry_run:
            stages = [stage_due(case, now) for case in DunningCase.objects.filter(pk__in=ids)]
        else:
            stages = list(cases_advance(case_ids=ids, now=now, actor=actor).values())
        for stage in filter(None, stages):
            result.advanced[stage] = result.advanced.get(stage, 0) + 1
    return result
