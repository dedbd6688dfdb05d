from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import api, views

app_name = "api"

# Redoc styles itself with inline <style> elements (styled-components) and
# parses the schema in a blob: worker; only its page gets those allowances.
# Scripts still come from this server only.
_redoc_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})

urlpatterns = [
    path("api-docs", views.api_docs, name="docs"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/schema/swagger-ui/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="swagger_ui",
    ),
    path(
        "api/schema/redoc/",
        _redoc_csp(SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")),
        name="redoc",
    ),
    path("api/usage", api.UsageApi.as_view(), name="usage"),
    path("account/api-keys", views.api_keys, name="keys"),
    path("account/api-keys/new", views.api_key_shown, name="key_shown"),
    path("account/api-keys/<int:key_id>/rotate", views.api_key_rotate, name="key_rotate"),
    path("account/api-keys/<int:key_id>/revoke", views.api_key_revoke, name="key_revoke"),
]
