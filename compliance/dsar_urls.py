"""Data requests: pages and API. Included from compliance/urls.py, so the
names live in the `compliance` namespace."""

from django.urls import path

from . import dsar_api, dsar_views

urlpatterns = [
    path("data-requests", dsar_views.data_requests, name="data_requests"),
    path("data-requests/export", dsar_views.export_request, name="dsar_export_request"),
    path("data-requests/erase", dsar_views.erasure_request, name="dsar_erasure_request"),
    path("data-requests/download/<str:token>", dsar_views.export_download, name="dsar_download"),
    path("api/dsar/export", dsar_api.DsarExportCreateApi.as_view(), name="api_dsar_export"),
    path("api/dsar/exports", dsar_api.DsarExportListApi.as_view(), name="api_dsar_exports"),
]
