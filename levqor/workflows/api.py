"""The workflows and runs API: thin views over selectors and services.

A key sees only its own account's data, and only data of its own mode
(sandbox keys: sandbox data). Anything else is 404, never 403.
"""

import functools

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from compliance import screening
from levqor.api import fastread, quotas
from levqor.api.base import AccountApi
from levqor.api.errors import HighRiskData
from levqor.lib.drf.errors import error_responses

from . import listcache, selectors, services
from .serializers import (
    RunCreateSerializer,
    RunLogSerializer,
    RunSerializer,
    SandboxMetricsSerializer,
    WorkflowCreateSerializer,
    WorkflowSerializer,
    WorkflowUpdateSerializer,
)


class KeyScopedApi(AccountApi):
    """Base for endpoints that read or write the calling key's own data."""

    def scope(self) -> dict:
        return {"account": self.account, "sandbox": self.sandbox}

    def actor(self) -> dict:
        return self.audit_actor()

    def screen(self, *, kind: str, payload) -> None:
        """Refuse high-risk data before anything is written. Runs outside the
        service's transaction so the recorded block (and its appeal link)
        survives the refusal."""
        result, block = screening.screen_and_record(
            account=self.account, kind=kind, payload=payload, actor=self.audit_actor()["actor"]
        )
        if result.blocked:
            raise HighRiskData(message=result.reason, details=screening.refusal_details(result, block))

    def get_workflow(self, workflow_id):
        workflow = selectors.workflow_get(**self.scope(), workflow_id=workflow_id)
        if workflow is None:
            raise NotFound("No such workflow for this key.")
        return workflow

    def get_run(self, run_id):
        run = selectors.run_get(**self.scope(), run_id=run_id)
        if run is None:
            raise NotFound("No such run for this key.")
        return run


class WorkflowListCreateApi(KeyScopedApi):
    """List the key's workflows, or create one."""

    serializer_class = WorkflowSerializer

    def get_queryset(self):
        return selectors.workflow_list(**self.scope())

    def prefetch(self, request):
        """Read the page's shared copy in the call's round trip (listcache)."""
        return listcache.prefetch_names(request)

    @extend_schema(
        operation_id="workflows_list",
        tags=["workflows"],
        summary="List workflows",
        description="The calling key's workflows (sandbox keys: sandbox workflows only), newest first, paginated.",
        responses={200: WorkflowSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        # The page's JSON from the shared copy when current (listcache: any
        # change to the account's workflows outdates it everywhere at once).
        # Kept only as a plain JSON Accept gets it (no `indent` parameter).
        plain = request.accepted_media_type == "application/json"
        where = {"account_id": self.account.pk, "sandbox": self.sandbox, "url": request.build_absolute_uri()}
        body, stamp = listcache.page_get(**where, request=request) if plain else (None, None)
        if body is None:
            page = self.paginate_queryset(self.get_queryset())
            data = self.get_paginated_response(WorkflowSerializer(page, many=True).data).data
            if not plain:
                return Response(data)
            body = listcache.render(data)
            listcache.page_put(**where, stamp=stamp, body=body)
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        operation_id="workflows_create",
        tags=["workflows"],
        summary="Create a workflow",
        description="Create a workflow from a name, an optional description, its `steps` and the JSON Schema "
        "its runs' input must match (`input_schema`). A sandbox key creates a sandbox workflow. Definitions holding "
        "critical high-risk data are refused with 422 `high_risk_data` and a link to appeal.",
        request=WorkflowCreateSerializer,
        responses={201: WorkflowSerializer, **error_responses(400, 402, 403, 413, 415, 422)},
    )
    def post(self, request):
        serializer = WorkflowCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.screen(kind="workflow_definition", payload=serializer.validated_data)
        workflow = services.workflow_create(**self.scope(), **serializer.validated_data, **self.actor())
        return Response(WorkflowSerializer(workflow).data, status=201)


def _list_view():
    """GET /api/workflows: the usual poll from the shared copy without DRF
    (`levqor.api.fastread`), anything else through the DRF view. Keeps the
    DRF view's attributes (`cls`, `csrf_exempt`, ...) for the schema."""
    drf_view = WorkflowListCreateApi.as_view()

    @functools.wraps(drf_view)
    def view(request, *args, **kwargs):
        answer = fastread.answer(
            request, view_class=WorkflowListCreateApi, prefetch=listcache.prefetch_names, decode=listcache.decode
        )
        return drf_view(request, *args, **kwargs) if answer is None else answer

    return view


workflow_list_create = _list_view()


class WorkflowDetailApi(KeyScopedApi):
    """Read, change or delete one workflow."""

    serializer_class = WorkflowSerializer

    @extend_schema(
        operation_id="workflows_retrieve",
        tags=["workflows"],
        summary="Read a workflow",
        description="One workflow of the calling key's account and mode; another account's is 404.",
        responses={200: WorkflowSerializer, **error_responses(404)},
    )
    def get(self, request, workflow_id):
        return Response(WorkflowSerializer(self.get_workflow(workflow_id)).data)

    @extend_schema(
        operation_id="workflows_update",
        tags=["workflows"],
        summary="Change a workflow",
        description="Change only the fields you send (`name`, `description`, `steps`, `input_schema`). "
        "Runs already started keep the input they were checked with.",
        request=WorkflowUpdateSerializer,
        responses={200: WorkflowSerializer, **error_responses(400, 402, 403, 404, 413, 415, 422)},
    )
    def patch(self, request, workflow_id):
        workflow = self.get_workflow(workflow_id)
        serializer = WorkflowUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.screen(kind="workflow_definition", payload=serializer.validated_data)
        workflow = services.workflow_update(workflow=workflow, changes=serializer.validated_data, **self.actor())
        return Response(WorkflowSerializer(workflow).data)

    @extend_schema(
        operation_id="workflows_destroy",
        tags=["workflows"],
        summary="Delete a workflow (its runs stay readable)",
        description="Delete a workflow. Its runs and their logs stay readable through `/api/runs/{run_id}`.",
        responses={204: OpenApiResponse(description="Deleted"), **error_responses(402, 403, 404)},
    )
    def delete(self, request, workflow_id):
        services.workflow_delete(workflow=self.get_workflow(workflow_id), **self.actor())
        return Response(status=204)


class WorkflowRunsApi(KeyScopedApi):
    """List a workflow's runs, or start one."""

    serializer_class = RunSerializer

    @extend_schema(
        operation_id="workflows_runs_list",
        tags=["runs"],
        summary="List a workflow's runs",
        description="The workflow's runs, newest first, paginated, with status, cost and timings.",
        responses={200: RunSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, workflow_id):
        workflow = self.get_workflow(workflow_id)
        page = self.paginate_queryset(selectors.run_list(**self.scope(), workflow=workflow))
        return self.get_paginated_response(RunSerializer(page, many=True).data)

    @extend_schema(
        operation_id="workflows_runs_create",
        tags=["runs"],
        summary="Start a run",
        description="The payload is checked against the workflow's `input_schema`; errors name each field "
        "(`payload.email`). Live runs are queued and execute in the background (poll the run); sandbox runs "
        "complete before the response.",
        request=RunCreateSerializer,
        responses={201: RunSerializer, **error_responses(400, 402, 403, 404, 413, 415, 422)},
    )
    def post(self, request, workflow_id):
        workflow = self.get_workflow(workflow_id)
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.screen(kind="run_payload", payload=serializer.validated_data["payload"])
        run = services.run_start(workflow=workflow, payload=serializer.validated_data["payload"], **self.actor())
        return Response(RunSerializer(run).data, status=201)


class RunDetailApi(KeyScopedApi):
    """One run: status, output, cost and timings."""

    serializer_class = RunSerializer

    @extend_schema(
        operation_id="runs_retrieve",
        tags=["runs"],
        summary="Read a run: status, cost and timings",
        responses={200: RunSerializer, **error_responses(404)},
    )
    def get(self, request, run_id):
        return Response(RunSerializer(self.get_run(run_id)).data)


class RunLogsApi(KeyScopedApi):
    """A run's log lines, oldest first."""

    serializer_class = RunLogSerializer

    @extend_schema(
        operation_id="runs_logs_list",
        tags=["runs"],
        summary="Read a run's logs, oldest first",
        responses={200: RunLogSerializer(many=True), **error_responses(404)},
    )
    def get(self, request, run_id):
        page = self.paginate_queryset(selectors.run_log_list(run=self.get_run(run_id)))
        return self.get_paginated_response(RunLogSerializer(page, many=True).data)


class SandboxMetricsApi(KeyScopedApi):
    """Sandbox usage this month."""

    serializer_class = SandboxMetricsSerializer
    pagination_class = None

    @extend_schema(
        operation_id="sandbox_metrics_retrieve",
        tags=["sandbox"],
        summary="Sandbox usage this month",
        description="Calls against the sandbox quota and what the account's sandbox runs did this month. "
        "Any key of the account may read it.",
        responses={200: SandboxMetricsSerializer, **error_responses()},
    )
    def get(self, request):
        account = self.account
        usage = quotas.quota_peek(account_id=account.pk, plan=account.plan, sandbox=True)
        _label, start, reset = quotas.period()
        stats = selectors.sandbox_stats(account=account, since=start)
        data = {
            "period_start": start,
            "quota_reset_at": reset,
            "calls_used": usage.used,
            "calls_limit": usage.limit,
            "calls_remaining": usage.remaining,
            **stats,
        }
        return Response(SandboxMetricsSerializer(data).data)
