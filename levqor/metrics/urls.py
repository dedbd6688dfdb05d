from django.urls import path

from . import api, prometheus, views

app_name = "metrics"

urlpatterns = [
    path("api/metrics/app", api.AppMetricsApi.as_view(), name="app"),
    path("metrics", prometheus.metrics, name="prometheus"),
    path("telemetry", views.telemetry_beacon, name="telemetry"),
]
