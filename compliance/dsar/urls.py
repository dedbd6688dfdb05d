"""Data requests: pages and API. Included from compliance/urls.py, so the
names live in the `compliance` namespace."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("data-requests", views.data_requests, name="data_requests"),
    path("data-requests/export", views.export_request, name="dsar_export_request"),
    path("data-requests/erase", views.erasure_request, name="dsar_erasure_request"),
    path("data-requests/download/<str:token>", views.export_download, name="dsar_download"),
    path("privacy/request", views.privacy_request, name="privacy_request"),
    path("privacy/request/verify/<str:token>", views.privacy_request_verify, name="privacy_request_verify"),
    path("privacy/request/download/<str:token>", views.privacy_request_download, name="privacy_request_download"),
    path("api/dsar/export", api.DsarExportCreateApi.as_view(), name="api_dsar_export"),
    path("api/dsar/exports", api.DsarExportListApi.as_view(), name="api_dsar_exports"),
]
