"""For each assistant task: gather the facts (reads only) and work out the
offline answer from them. The same facts go to a model provider when one is
configured, so both answers rest on the same ground."""

import re

from django.utils import timezone

from compliance import terms
from levqor import plans
from levqor.accounts.models import Account
from levqor.api import quotas
from levqor.api import selectors as api_selectors
from levqor.api.errors import ERROR_CODES
from levqor.workflows import selectors as workflow_selectors
from levqor.workflows.models import Run, RunLog
from levqor.workflows.serializers import STEP_FIELDS

from . import drafts, knowledge
from .providers import Answer, Prompt

NOT_FOUND = (
    "I could not find that in Levqor's documentation. The API guide at /api-docs covers every endpoint, "
    "and support can answer anything else."
)


def chat(*, query: str, context: dict) -> Prompt:
    # The question decides; the context (where it was asked) only helps when the question alone finds nothing.
    found = knowledge.search(query, limit=3) or knowledge.search(" ".join(map(str, context.values())), limit=3)
    if not found:
        offline = Answer(NOT_FOUND, ("Read /api-docs.", "Contact support from your account."))
    else:
        best = found[0][0]
        answer = best.text
        if len(found) > 1:
            answer += " Related: " + "; ".join(p.title for p, _score in found[1:]) + "."
        steps = best.steps or ((f"Read more on {best.source}.",) if best.source else ())
        offline = Answer(answer, steps)
    facts = {
        "passages": [{"title": p.title, "text": p.text, "steps": list(p.steps)} for p, _s in found],
        "context": context,
    }
    return Prompt("chat", "Answer the customer's question about using Levqor.", query, facts, offline)


def workflow(*, description: str, name: str) -> Prompt:
    draft = drafts.draft_from_description(description, name=name)
    kinds = ", ".join(step["type"] for step in draft["steps"])
    fields = ", ".join(draft["input_schema"]["required"])
    offline = Answer(
        f'A draft named "{draft["name"]}" with {len(draft["steps"])} steps ({kinds}). Each run takes a payload '
        f"with {fields}. It is not saved: review it, then create it yourself.",
        (
            "Check the step prompts, URLs and fields, and adjust them to your process.",
            "Create it with a sandbox key: POST /api/workflows with the draft as the body.",
            "Start a sandbox run: POST /api/workflows/{id}/runs with a sample payload.",
            "When the run's logs look right, create the workflow with a live key.",
        ),
        draft,
    )
    facts = {
        "step_catalogue": {kind: sorted(fields_) for kind, fields_ in STEP_FIELDS.items()},
        "step_purposes": knowledge.STEP_PURPOSE,
        "example_draft": draft,
    }
    return Prompt(
        "workflow",
        "Draft a Levqor workflow (never saved) for the customer's description.",
        description,
        facts,
        offline,
    )


# What a failure's words say about its cause: (pattern, cause, next steps).
DIAGNOSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        r"missing required value\(s\): (?P<what>[\w.]+(?:, [\w.]+)*)",
        "A require step found {what} missing or empty in the data it checked.",
        (
            "Send {what} in the run's payload.",
            "Add {what} to the workflow's input_schema required list so such a payload is refused at once (400).",
        ),
    ),
    (
        r"stale|lost|never (?:started|finished)|timed out",
        "The run was queued or running too long: the background worker did not finish it.",
        ("Check /status for the task queue.", "Start the run again; sandbox runs complete inline."),
    ),
    (
        r"payload\.[\w.]+|is a required property|is not of type|does not match",
        "The payload does not match the workflow's input_schema.",
        ("Read error.details.fields: each entry names the field and what is wrong with it.",),
    ),
    (
        r"high.risk|screen",
        "The data was refused by high-risk data screening.",
        ("Remove the sensitive data, or appeal from the link in error.details.appeal_url.",),
    ),
)


def _diagnose(text: str) -> tuple[str, tuple[str, ...]] | None:
    for pattern, cause, steps in DIAGNOSES:
        match = re.search(pattern, text, re.I)
        if match:
            what = (match.groupdict().get("what") or "").strip(" .")
            return cause.format(what=what), tuple(step.format(what=what) for step in steps)
    for code, (status, meaning) in ERROR_CODES.items():
        if re.search(rf"\b{re.escape(code)}\b", text):
            return f"The API answered {status} {code}: {meaning}", (f"See /api-docs#errors for {code}.",)
    return None


def debug_run(*, run: Run) -> Prompt:
    logs = list(workflow_selectors.run_log_list(run=run).exclude(level=RunLog.Level.INFO)[:20])
    last_problem = next((log for log in reversed(logs) if log.step), None)  # the closing "run failed" has no step
    step_types = {step.get("name"): step.get("type") for step in run.workflow.steps if isinstance(step, dict)}
    failing_step = last_problem.step if last_problem else ""
    facts = {
        "run": {"id": str(run.pk), "status": run.status, "error": run.error, "sandbox": run.is_sandbox},
        "steps": [{"name": name, "type": kind} for name, kind in step_types.items()],
        "problem_logs": [{"level": log.level, "step": log.step, "message": log.message} for log in logs],
    }
    if run.status == Run.Status.SUCCEEDED:
        offline = Answer(
            "This run succeeded: there is nothing to fix.",
            ("Read its output in GET /api/runs/{id} and each step's log in GET /api/runs/{id}/logs.",),
        )
    elif run.status in (Run.Status.QUEUED, Run.Status.RUNNING):
        offline = Answer(
            f"This run is still {run.status}: live runs execute in the background.",
            ("Poll GET /api/runs/{id} until it succeeds or fails.", "Check /status if it stays queued."),
        )
    else:
        text = "\n".join([run.error, *(log.message for log in logs)])
        diagnosis = _diagnose(text)
        kind = step_types.get(failing_step, "")
        where = f' in step "{failing_step}" ({kind})' if failing_step else ""
        if diagnosis:
            cause, steps = diagnosis
        else:
            purpose = knowledge.STEP_PURPOSE.get(kind, "")
            cause = f"The run failed{where}." + (f" A {kind} step {purpose}." if purpose else "")
            steps = ("Read the run's logs: GET /api/runs/{id}/logs.", "Fix the step or the payload and run again.")
        offline = Answer(f"Likely cause{where}: {cause}", steps)
    return Prompt("debug", "Explain the likely cause of this run's failure and the next steps.", "", facts, offline)


def debug_error(*, error: str, context: dict) -> Prompt:
    diagnosis = _diagnose(error)
    if diagnosis:
        cause, steps = diagnosis
        offline = Answer(f"Likely cause: {cause}", steps)
    else:
        found = knowledge.search(error, limit=1)
        if found:
            passage = found[0][0]
            offline = Answer(f"This looks related to {passage.title}: {passage.text}", passage.steps)
        else:
            offline = Answer(
                "I cannot tell the cause from this error alone.",
                (
                    "Send the run_id instead, so its logs can be read.",
                    "Quote the error's correlation_id to support.",
                ),
            )
    facts = {"error_codes": {code: meaning for code, (_s, meaning) in ERROR_CODES.items()}, "context": context}
    return Prompt("debug", "Explain the likely cause of this error and the next steps.", error, facts, offline)


def onboarding(*, account: Account, user=None) -> Prompt:
    """The account's next steps from its real state, most important first."""
    keys = api_selectors.api_key_list(account=account)
    usable = [key for key in keys if key.is_usable()]
    has_live_key = any(not key.is_sandbox for key in usable)
    has_test_key = any(key.is_sandbox for key in usable)
    counts = {}
    for mode in (True, False):
        runs = workflow_selectors.run_list(account=account, sandbox=mode)
        counts[mode] = {
            "workflows": workflow_selectors.workflow_list(account=account, sandbox=mode).count(),
            "runs_succeeded": runs.filter(status=Run.Status.SUCCEEDED).count(),
            "runs_failed": runs.filter(status=Run.Status.FAILED).count(),
        }
    usage = quotas.quota_peek(account_id=account.pk, plan=account.plan, sandbox=False)
    state = account.billing_state
    todo: list[str] = []
    done: list[str] = []
    if state == Account.BillingState.PAUSED_BILLING:
        todo.append("Update your card on /billing: the account is paused and cannot start runs.")
    if state == Account.BillingState.CANCELED:
        todo.append(f"Choose a plan on /pricing to start again ({plans.TRIAL_TEXT}).")
    if user is not None and terms.terms_must_accept(user=user):
        todo.append("Accept the current terms of service (POST /api/legal/accept-terms).")
    (done if has_test_key else todo).append("Create a sandbox key on /account/api-keys.")
    (done if counts[True]["workflows"] else todo).append(
        "Create your first sandbox workflow (POST /api/workflows, or ask /api/ai/workflow for a draft)."
    )
    (done if counts[True]["runs_succeeded"] else todo).append("Start a sandbox run and read its logs.")
    if counts[True]["runs_failed"] + counts[False]["runs_failed"]:
        todo.append("Ask /api/ai/debug about a failed run (send its run_id).")
    (done if has_live_key else todo).append("Create a live key when the sandbox run looks right.")
    (done if counts[False]["workflows"] else todo).append("Create the workflow with the live key.")
    (done if counts[False]["runs_succeeded"] else todo).append("Start your first live run.")
    if usage.limit is not None and usage.used >= usage.limit * 0.8:
        todo.append(f"You have used {usage.used:,} of {usage.limit:,} calls this month: consider a larger plan.")
    total = len(done) + len([t for t in todo if t in _MILESTONES])
    if todo:
        answer = f"You have finished {len(done)} of {total} setup steps. Next: {todo[0]}"
    else:
        answer = "You are set up: live workflows are running. Keep an eye on /status and your usage."
    facts = {
        "plan": account.plan,
        "billing_state": state,
        "trial_ends_at": account.trial_ends_at.isoformat() if account.trial_ends_at else None,
        "keys": {"live": has_live_key, "sandbox": has_test_key},
        "sandbox": counts[True],
        "live": counts[False],
        "calls_this_month": usage.used,
        "calls_limit": usage.limit,
        "done": done,
        "todo": todo,
        "now": timezone.now().isoformat(),
    }
    return Prompt(
        "onboarding",
        "Tell the customer their next setup steps, most important first.",
        "",
        facts,
        Answer(answer, tuple(todo)),
    )


_MILESTONES = {
    "Create a sandbox key on /account/api-keys.",
    "Create your first sandbox workflow (POST /api/workflows, or ask /api/ai/workflow for a draft).",
    "Start a sandbox run and read its logs.",
    "Create a live key when the sandbox run looks right.",
    "Create the workflow with the live key.",
    "Start your first live run.",
}
