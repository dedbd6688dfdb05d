from anymail.webhooks.resend import ResendInboundWebhookView
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from compliance.admin import dashboard_view as compliance_dashboard
from compliance.admin import records_of_processing_view

from . import views

urlpatterns = [
    path("admin/compliance/dashboard/", admin.site.admin_view(compliance_dashboard), name="compliance_dashboard"),
    path(
        "admin/compliance/records-of-processing/",
        admin.site.admin_view(records_of_processing_view),
        name="records_of_processing",
    ),
    # One page per customer (support/customer.py), by dotted name so the core's test URLconfs stay app-free.
    path("admin/customers/", include("support.admin_urls")),
    path("admin/", admin.site.urls),
    path("-/ping", views.ping, name="ping"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Before the other apps': Stripe's webhook deliveries come in bursts and
    # resolve without walking their patterns (none overlaps billing's).
    path("", include("billing.urls")),
    path("", include("levqor.accounts.urls")),
    path("", include("levqor.pages.urls")),
    path("", include("levqor.api.urls")),
    path("", include("levqor.workflows.urls")),
    path("", include("levqor.assist.urls")),
    path("", include("levqor.metrics.urls")),
    path("", include("status.urls")),
    path("", include("support.urls")),
    path("", include("compliance.urls")),
]

# Inbound email (replies to ticket emails, support/inbound.py): only with the
# Svix signing secret Resend gives the receiving webhook, so nothing unsigned
# is ever accepted. https://anymail.dev/en/stable/esps/resend/#inbound
if settings.RESEND_INBOUND_SECRET:
    urlpatterns.insert(
        0,
        path("anymail/resend/inbound/", ResendInboundWebhookView.as_view(), name="resend_inbound_webhook"),
    )

# Under /api/ these answer in the API's JSON error format; elsewhere they
# render Django's usual pages (levqor/lib/drf/errors.py).
handler400 = "levqor.lib.drf.errors.bad_request"
handler403 = "levqor.lib.drf.errors.permission_denied"
handler404 = "levqor.lib.drf.errors.page_not_found"
handler500 = "levqor.lib.drf.errors.server_error"
