from django.urls import path

from . import api, views

app_name = "workflows"

urlpatterns = [
    path("account/workflows", views.workflow_list, name="page_list"),
    path("account/workflows/new", views.workflow_create, name="page_create"),
    path("account/workflows/<uuid:workflow_id>", views.workflow_detail, name="page_detail"),
    path("account/workflows/<uuid:workflow_id>/edit", views.workflow_edit, name="page_edit"),
    path("account/workflows/<uuid:workflow_id>/delete", views.workflow_delete, name="page_delete"),
    path("account/runs/<uuid:run_id>", views.run_detail, name="page_run"),
    path("account/runs/<uuid:run_id>/again", views.run_again, name="page_run_again"),
    path("api/workflows", api.workflow_list_create, name="workflow_list"),
    path("api/workflows/<uuid:workflow_id>", api.WorkflowDetailApi.as_view(), name="workflow_detail"),
    path("api/workflows/<uuid:workflow_id>/runs", api.WorkflowRunsApi.as_view(), name="workflow_runs"),
    path("api/runs/<uuid:run_id>", api.RunDetailApi.as_view(), name="run_detail"),
    path("api/runs/<uuid:run_id>/logs", api.RunLogsApi.as_view(), name="run_logs"),
    path("api/sandbox/metrics", api.SandboxMetricsApi.as_view(), name="sandbox_metrics"),
]
