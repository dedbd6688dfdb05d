from django.urls import path

from . import api

app_name = "workflows"

urlpatterns = [
    path("api/workflows", api.WorkflowListCreateApi.as_view(), name="workflow_list"),
    path("api/workflows/<uuid:workflow_id>", api.WorkflowDetailApi.as_view(), name="workflow_detail"),
    path("api/workflows/<uuid:workflow_id>/runs", api.WorkflowRunsApi.as_view(), name="workflow_runs"),
    path("api/runs/<uuid:run_id>", api.RunDetailApi.as_view(), name="run_detail"),
    path("api/runs/<uuid:run_id>/logs", api.RunLogsApi.as_view(), name="run_logs"),
    path("api/sandbox/metrics", api.SandboxMetricsApi.as_view(), name="sandbox_metrics"),
]
