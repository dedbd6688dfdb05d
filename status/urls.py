from django.urls import path

from . import api, feeds, views

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
    path("api/status/health", api.StatusHealthApi.as_view(), name="health"),
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
]
