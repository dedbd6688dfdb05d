"""Customer pages for workflows and runs: server-rendered, usable without
JavaScript, and thin — they call the same services as the API (schema and
step checks, high-risk data screening, read-only accounts), acting as the
signed-in person. Another account's workflow or run is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from compliance import screening

from . import selectors, services
from .forms import RunForm, WorkflowForm, apply_service_errors
from .models import Run, Workflow

RUNS_PER_PAGE = 25


def _account(request):
    account = request.user.account
    if account is None:
        raise Http404("Staff logins have no workflows.")
    return account


def _workflow(request, workflow_id) -> Workflow:
    workflow = selectors.workflow_get_owned(account=_account(request), workflow_id=workflow_id)
    if workflow is None:
        raise Http404("No such workflow.")
    return workflow


def _mode(request) -> str:
    return "sandbox" if request.GET.get("mode") == "sandbox" else "live"


def _screened(request, form, *, account, kind: str, payload) -> bool:
    """True if the data may be stored; otherwise the refusal, with its appeal link, is on the form."""
    result, block = screening.screen_and_record(account=account, kind=kind, payload=payload, actor=request.user)
    if not result.blocked:
        return True
    if block is not None:
        appeal = reverse("compliance:screening_appeal", args=[block.pk])
        form.add_error(None, format_html('{} <a href="{}">Appeal this refusal</a>.', result.reason, appeal))
    else:
        form.add_error(None, result.reason)
    return False


def _read_only(request, exc: PermissionDenied):
    messages.error(request, str(exc) or "Your account is read-only.")


@login_required
@require_safe
def workflow_list(request):
    """The account's workflows of one mode (live or sandbox), with their run counts."""
    account = _account(request)
    mode = _mode(request)
    workflows = selectors.workflow_list_with_counts(account=account, sandbox=mode == "sandbox")
    return render(request, "workflows/list.html", {"workflows": workflows, "mode": mode})


@login_required
@require_http_methods(["GET", "POST"])
def workflow_create(request):
    account = _account(request)
    form = WorkflowForm(request.POST or None, initial={"mode": _mode(request)})
    if request.method == "POST" and form.is_valid():
        definition = form.definition()
        if _screened(request, form, account=account, kind="workflow_definition", payload=definition):
            try:
                workflow = services.workflow_create(
                    account=account, sandbox=form.cleaned_data["mode"] == "sandbox", **definition, actor=request.user
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                _read_only(request, exc)
            else:
                messages.success(request, f"Workflow “{workflow.name}” created.")
                return redirect("workflows:page_detail", workflow.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/form.html", {"form": form, "workflow": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_edit(request, workflow_id):
    workflow = _workflow(request, workflow_id)
    form = WorkflowForm(request.POST or None, workflow=workflow)
    if request.method == "POST" and form.is_valid():
        definition = form.definition()
        if _screened(request, form, account=workflow.account, kind="workflow_definition", payload=definition):
            try:
                services.workflow_update(workflow=workflow, changes=definition, actor=request.user)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                _read_only(request, exc)
            else:
                messages.success(request, "Changes saved.")
                return redirect("workflows:page_detail", workflow.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/form.html", {"form": form, "workflow": workflow}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_detail(request, workflow_id):
    """The workflow, a form to start a run, and its runs (newest first, paginated)."""
    workflow = _workflow(request, workflow_id)
    form = RunForm(request.POST or None, workflow=workflow)
    if request.method == "POST" and form.is_valid():
        payload = form.cleaned_data["payload"]
        if _screened(request, form, account=workflow.account, kind="run_payload", payload=payload):
            try:
                run = services.run_start(workflow=workflow, payload=payload, actor=request.user)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                _read_only(request, exc)
            else:
                return redirect("workflows:page_run", run.pk)
    runs = selectors.run_list(account=workflow.account, sandbox=workflow.is_sandbox, workflow=workflow)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"workflow": workflow, "form": form, "runs": page}
    return render(request, "workflows/detail.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_delete(request, workflow_id):
    """GET: what deleting means; POST: delete (runs stay readable)."""
    workflow = _workflow(request, workflow_id)
    if request.method == "POST":
        try:
            services.workflow_delete(workflow=workflow, actor=request.user)
        except PermissionDenied as exc:
            _read_only(request, exc)
            return redirect("workflows:page_detail", workflow.pk)
        messages.success(request, f"Workflow “{workflow.name}” deleted. Its runs stay readable.")
        return redirect(reverse("workflows:page_list") + ("?mode=sandbox" if workflow.is_sandbox else ""))
    return render(request, "workflows/delete.html", {"workflow": workflow})


@login_required
@require_safe
def run_detail(request, run_id):
    """One run: status, timings, cost, input, output and its log lines."""
    run = selectors.run_get_owned(account=_account(request), run_id=run_id)
    if run is None:
        raise Http404("No such run.")
    logs = selectors.run_log_list(run=run)
    level = request.GET.get("level")
    if level in {"warning", "error"}:
        logs = logs.filter(level__in=["warning", "error"] if level == "warning" else ["error"])
    context = {"run": run, "logs": logs[:1000], "level": level, "refresh": run.status in Run.UNFINISHED}
    return render(request, "workflows/run.html", context)


@login_required
@require_POST
def run_again(request, run_id):
    """Start a new run of the same workflow with the same input."""
    run = selectors.run_get_owned(account=_account(request), run_id=run_id)
    if run is None or run.workflow.deleted_at is not None:
        raise Http404("No such run.")
    try:
        again = services.run_start(workflow=run.workflow, payload=run.payload, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("workflows:page_run", run.pk)
    except PermissionDenied as exc:
        _read_only(request, exc)
        return redirect("workflows:page_run", run.pk)
    return redirect("workflows:page_run", again.pk)
