from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from levqor.lib import attention

# The admin index and sidebar, grouped by the work staff do rather than by
# Django app: queues first, then the records behind them, then the system.
# Models are named "app_label.ModelName"; a name that is not registered is
# skipped, and a registered model that no group names lands in "Other".
WORK_GROUPS = [
    (
        "Customer requests",
        [
            "support.Ticket",
            "support.SlaCreditRequest",
            "support.Dispute",
            "compliance.PrivacyRequest",
            "compliance.ErasureRequest",
            "compliance.DataExport",
            "compliance.ScreeningAppeal",
            "support.DfyOrder",
            "support.CannedReply",
        ],
    ),
    ("Billing and payments", ["billing.DunningCase", "billing.StripeEvent"]),
    (
        "Status and incidents",
        [
            "status.Incident",
            "status.Maintenance",
            "status.IncidentTemplate",
            "status.Component",
            "status.Alert",
            "status.AlertDelivery",
            "status.Subscriber",
            "status.WebhookSubscriber",
            "status.WebhookDelivery",
            "status.StatusApiKey",
            "status.Snapshot",
            "status.DailyRollup",
        ],
    ),
    (
        "Customers and their data",
        [
            "accounts.Account",
            "accounts.User",
            "workflows.Workflow",
            "workflows.Run",
            "api.ApiKey",
            "assist.AiCall",
            "metrics.TelemetryCount",
            "metrics.ServerErrorCount",
        ],
    ),
    ("Email", ["compliance.OutboundEmail", "compliance.Suppression"]),
    (
        "Compliance records",
        [
            "compliance.AuditEvent",
            "compliance.ScreeningBlock",
            "compliance.ScreeningRule",
            "compliance.AbuseSignal",
            "compliance.TermsVersion",
            "compliance.TermsAcceptance",
            "compliance.CookieConsent",
            "compliance.MarketingSubscription",
            "compliance.Objection",
        ],
    ),
    (
        "System",
        [
            "django_q.Failure",
            "django_q.OrmQ",
            "django_q.Schedule",
            "django_q.Success",
            "axes.AccessFailureLog",
            "axes.AccessAttempt",
            "axes.AccessLog",
            "auth.Group",
        ],
    ),
]
# dj-stripe registers ~45 read-only mirror models: one "Stripe mirror" entry
# on the index leads to them (its app page, /admin/djstripe/).
STRIPE_MIRROR_APP = "djstripe"


class LevqorAdminSite(admin.AdminSite):
    site_header = "Levqor console"
    site_title = "Levqor"
    index_title = "Today"
    index_template = "admin/levqor_index.html"
    # The app sidebar takes a fifth of a 1400 px screen from every wide list;
    # the index (grouped by the work) and the breadcrumbs lead everywhere.
    enable_nav_sidebar = False

    def each_context(self, request):
        # Django's own, except `available_apps`: it builds the whole app list
        # (a permission check and a URL lookup for each of ~90 registered
        # models, the Stripe mirror's included) on every admin page, for the
        # nav sidebar, which is off here. Built only if a template reads it.
        script_name = request.META["SCRIPT_NAME"]
        site_url = script_name if self.site_url == "/" and script_name else self.site_url
        return {
            "site_title": self.site_title,
            "site_header": self.site_header,
            "site_url": site_url,
            "has_permission": self.has_permission(request),
            "available_apps": SimpleLazyObject(lambda: self.get_app_list(request)),
            "is_popup": False,
            "is_nav_sidebar_enabled": self.enable_nav_sidebar,
            "log_entries": self.get_log_entries(request),
        }

    def index(self, request, extra_context=None):
        # Queues with something in them first (order otherwise kept): what to do today is on top.
        counts = sorted(attention.queue_counts(), key=lambda queue: queue.count == 0)
        extra_context = {
            **(extra_context or {}),
            "attention_queues": counts,
            "attention_total": attention.total(counts),
            "dashboards": attention.dashboards(),
        }
        return super().index(request, extra_context)

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list  # one app's own page (e.g. the Stripe mirror) stays as Django builds it
        return work_groups(app_list)


def work_groups(app_list: list[dict]) -> list[dict]:
    """Regroup Django's per-app list into WORK_GROUPS, then "Other", then the Stripe mirror entry."""
    models = {}
    mirror = None
    for app in app_list:
        if app["app_label"] == STRIPE_MIRROR_APP:
            mirror = app
            continue
        for model in app["models"]:
            models[f"{app['app_label']}.{model['object_name']}"] = model
    groups = []
    for name, wanted in WORK_GROUPS:
        found = [models.pop(key) for key in wanted if key in models]
        if found:
            groups.append(_group(name, found))
    if models:
        groups.append(_group("Other", sorted(models.values(), key=lambda m: m["name"])))
    if mirror is not None:
        entry = {
            "name": f"Stripe data, read-only ({len(mirror['models'])} tables)",
            "object_name": "StripeMirror",
            "admin_url": mirror["app_url"],
            "add_url": None,
            "view_only": True,
        }
        groups.append({**_group("Stripe mirror", [entry]), "app_url": mirror["app_url"]})
    return groups


def _group(name: str, models: list[dict]) -> dict:
    slug = "work-" + name.lower().replace(" ", "-")
    try:
        index = reverse("admin:index")
    except NoReverseMatch:
        index = "/"
    return {
        "name": name,
        "app_label": slug,
        "app_url": f"{index}#{slug}",
        "has_module_perms": True,
        "models": models,
    }
