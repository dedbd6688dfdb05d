from django.urls import path, re_path

from . import api, feeds, manage_api, views

app_name = "status"

urlpatterns = [
    path("status", views.status_page, name="page"),
    path("status/incidents/<slug:public_id>", views.incident_detail, name="incident"),
    path("status/subscribe", views.subscribe, name="subscribe"),
    path("status/subscribe/confirm/<str:token>", views.subscribe_confirm, name="confirm"),
    path("status/unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    # Issue 17 item 3 (statussubs): managing subscriptions, webhook subscribers.
    path("status/subscription/<str:token>", views.manage, name="manage"),
    path("status/webhooks/confirm/<str:token>", views.webhook_confirm, name="webhook_confirm"),
    path("status/webhooks/unsubscribe/<str:token>", views.webhook_unsubscribe, name="webhook_unsubscribe"),
    # End of item 3.
    # Issue 17 item 2: the history of every incident and maintenance, monthly uptime.
    path("status/history", views.history, name="history"),
    # Issue 17 item 5: badges and the embed (cookieless, cacheable; the embed may be framed).
    path("status/badge.svg", views.badge, name="badge"),
    path("status/badge/<str:key>.svg", views.component_badge, name="component_badge"),
    path("status/embed", views.embed, name="embed"),
    path("status/feed.rss", feeds.IncidentsRssFeed(), name="feed_rss"),
    path("status/feed.atom", feeds.IncidentsAtomFeed(), name="feed_atom"),
    path("api/status/health", api.status_health, name="health"),
    path("api/v2/summary.json", api.StatuspageSummaryApi.as_view(), name="v2_summary"),
    path("api/v2/status.json", api.StatuspageStatusApi.as_view(), name="v2_status"),
    path("api/v2/components.json", api.StatuspageComponentsApi.as_view(), name="v2_components"),
    path("api/v2/incidents.json", api.StatuspageIncidentsApi.as_view(), name="v2_incidents"),
    path(
        "api/v2/incidents/unresolved.json",
        api.StatuspageUnresolvedIncidentsApi.as_view(),
        name="v2_incidents_unresolved",
    ),
    path("api/v2/scheduled-maintenances.json", api.StatuspageMaintenancesApi.as_view(), name="v2_maintenances"),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        api.StatuspageUpcomingMaintenancesApi.as_view(),
        name="v2_maintenances_upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json",
        api.StatuspageActiveMaintenancesApi.as_view(),
        name="v2_maintenances_active",
    ),
    # --- Issue 17 item 1: the Statuspage-compatible manage API v1 (statusapi) ---
    # Statuspage's `.json` suffix on any of these paths, first (ids match anything but "/").
    # Aliases, so not in the OpenAPI document.
    re_path(r"^api/v1/(?P<path>pages(/[^/]+)*)\.json$", manage_api.json_suffix, name="v1_json_suffix"),
    path("api/v1/pages", manage_api.PagesApi.as_view(), name="v1_pages"),
    path("api/v1/pages/<str:page_id>", manage_api.PageApi.as_view(), name="v1_page"),
    path("api/v1/pages/<str:page_id>/components", manage_api.ComponentsApi.as_view(), name="v1_components"),
    path(
        "api/v1/pages/<str:page_id>/components/<str:component_id>",
        manage_api.ComponentApi.as_view(),
        name="v1_component",
    ),
    path("api/v1/pages/<str:page_id>/incidents", manage_api.IncidentsApi.as_view(), name="v1_incidents"),
    path(
        "api/v1/pages/<str:page_id>/incidents/unresolved",
        manage_api.UnresolvedIncidentsApi.as_view(),
        name="v1_incidents_unresolved",
    ),
    path(
        "api/v1/pages/<str:page_id>/incidents/scheduled",
        manage_api.ScheduledIncidentsApi.as_view(),
        name="v1_incidents_scheduled",
    ),
    path(
        "api/v1/pages/<str:page_id>/incidents/upcoming",
        manage_api.UpcomingIncidentsApi.as_view(),
        name="v1_incidents_upcoming",
    ),
    path(
        "api/v1/pages/<str:page_id>/incidents/active_maintenance",
        manage_api.ActiveMaintenanceApi.as_view(),
        name="v1_incidents_active_maintenance",
    ),
    path(
        "api/v1/pages/<str:page_id>/incidents/<str:incident_id>",
        manage_api.IncidentApi.as_view(),
        name="v1_incident",
    ),
    path("api/v1/pages/<str:page_id>/subscribers", manage_api.SubscribersApi.as_view(), name="v1_subscribers"),
    path(
        "api/v1/pages/<str:page_id>/subscribers/<str:subscriber_id>",
        manage_api.SubscriberApi.as_view(),
        name="v1_subscriber",
    ),
    # --- end of issue 17 item 1 ---
]
