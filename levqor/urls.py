from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("-/ping", views.ping, name="ping"),
    path("", include("levqor.accounts.urls")),
    path("", include("levqor.pages.urls")),
    path("", include("levqor.api.urls")),
    path("", include("levqor.workflows.urls")),
    path("", include("billing.urls")),
    path("", include("status.urls")),
    path("", include("support.urls")),
    path("", include("compliance.urls")),
]
