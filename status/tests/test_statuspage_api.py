"""Every /api/v2/*.json held to the documented Statuspage v2 field lists."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from status import selectors, services
from status.models import Component, ComponentStatus, Impact, IncidentStatus, MaintenanceStatus, State

pytestmark = pytest.mark.django_db

PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date",
    "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink",
    "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_KEYS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components",
    "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip
AFFECTED_KEYS = {"code", "name", "old_status", "new_status"}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
ID = re.compile(r"^[a-z0-9]{12}$")


def check_time(value, nullable=False):
    if value is None and nullable:
        return
    assert ISO.match(value), value


def check_page(page):
    assert set(page) == PAGE_KEYS
    assert page["id"] == "levqorstatus" and page["time_zone"] == "Europe/London"
    assert page["url"].endswith("/status")
    check_time(page["updated_at"])


def check_component(component):
    keys = COMPONENT_KEYS | ({"components"} if component["group"] else set())
    assert set(component) == keys
    assert ID.match(component["id"]) and component["status"] in COMPONENT_STATUSES
    check_time(component["created_at"])
    check_time(component["updated_at"])
    assert isinstance(component["position"], int) and component["start_date"] is None


def check_incident(incident, *, maintenance=False):
    keys = INCIDENT_KEYS | ({"scheduled_for", "scheduled_until"} if maintenance else set())
    assert set(incident) == keys
    statuses = set(MaintenanceStatus.values) if maintenance else set(IncidentStatus.values)
    assert incident["status"] in statuses
    assert incident["impact"] in ({"maintenance"} if maintenance else set(Impact.values))
    for name in ("created_at", "updated_at", "started_at"):
        check_time(incident[name])
    check_time(incident["monitoring_at"], nullable=True)
    check_time(incident["resolved_at"], nullable=True)
    assert incident["shortlink"].startswith("http")
    for update in incident["incident_updates"]:
        assert set(update) == UPDATE_KEYS
        assert update["incident_id"] == incident["id"]
        assert update["custom_tweet"] is None and update["tweet_id"] is None
        for item in update["affected_components"] or []:
            assert set(item) == AFFECTED_KEYS
    for component in incident["components"]:
        check_component(component)


@pytest.fixture
def world(components, stub_probes, staff):
    services.heartbeat_beat()
    services.snapshot_take()
    now = timezone.now()
    group = Component.objects.create(slug="infra", name="Infrastructure", is_group=True, position=15)
    Component.objects.filter(slug__in=["database", "cache"]).update(group=group)
    open_one = services.incident_create(
        name="Slow workflows",
        impact=Impact.MINOR,
        body="Looking into it.",
        components=[(components["workflows"], ComponentStatus.PARTIAL_OUTAGE)],
        actor=staff,
    )
    closed = services.incident_create(name="Old one", impact=Impact.MAJOR, body="Broken.", actor=staff)
    services.incident_update(incident=closed, status=IncidentStatus.RESOLVED, body="Fixed.", actor=staff)
    upcoming = services.maintenance_create(
        name="Upgrade",
        body="Short pause.",
        scheduled_for=now + timedelta(days=2),
        scheduled_until=now + timedelta(days=2, hours=1),
        components=[components["database"]],
        actor=staff,
    )
    active = services.maintenance_create(
        name="Queue move",
        body="Moving the queue.",
        scheduled_for=now - timedelta(minutes=5),
        scheduled_until=now + timedelta(hours=1),
        components=[components["queue"]],
        actor=staff,
    )
    services.maintenance_advance(now=now)
    return {"open": open_one, "closed": closed, "upcoming": upcoming, "active": active, "group": group}


def test_summary_has_the_documented_shape(client, world):
    response = client.get("/api/v2/summary.json")

    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert list(body) == ["page", "components", "incidents", "scheduled_maintenances", "status"]
    check_page(body["page"])
    for component in body["components"]:
        check_component(component)
    assert [i["id"] for i in body["incidents"]] == [world["open"].public_id]
    check_incident(body["incidents"][0])
    assert {m["id"] for m in body["scheduled_maintenances"]} == {world["upcoming"].public_id, world["active"].public_id}
    for maintenance in body["scheduled_maintenances"]:
        check_incident(maintenance, maintenance=True)
    assert set(body["status"]) == {"indicator", "description"} and body["status"]["indicator"] in INDICATORS


def test_components_json_has_the_documented_shape(client, world):
    response = client.get("/api/v2/components.json")

    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert list(body) == ["page", "components"]
    check_page(body["page"])
    assert body["components"]
    for component in body["components"]:
        check_component(component)
        assert component["page_id"] == body["page"]["id"]


def test_groups_list_their_children_and_children_point_back(client, world):
    components = {c["name"]: c for c in client.get("/api/v2/components.json").json()["components"]}
    group = components["Infrastructure"]
    assert group["group"] is True and group["group_id"] is None
    assert set(group["components"]) == {components["Database"]["id"], components["Cache"]["id"]}
    assert components["Database"]["group_id"] == group["id"]
    assert components["Workflows"]["status"] == "partial_outage"  # stated on the open incident
    assert components["Task queue"]["status"] == "under_maintenance"
    assert components["Web/API"]["status"] == "operational"


def test_status_json_reports_the_indicator(client, world):
    response = client.get("/api/v2/status.json")

    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert list(body) == ["page", "status"]
    check_page(body["page"])
    assert set(body["status"]) == {"indicator", "description"} and body["status"]["indicator"] in INDICATORS
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}


def test_incidents_json_lists_recent_ones_and_unresolved_only_the_open(client, world):
    every = client.get("/api/v2/incidents.json").json()
    unresolved = client.get("/api/v2/incidents/unresolved.json").json()

    assert {i["id"] for i in every["incidents"]} == {world["open"].public_id, world["closed"].public_id}
    for incident in every["incidents"]:
        check_incident(incident)
    assert [i["id"] for i in unresolved["incidents"]] == [world["open"].public_id]
    closed = next(i for i in every["incidents"] if i["id"] == world["closed"].public_id)
    assert closed["status"] == "resolved" and closed["resolved_at"] is not None
    assert [u["status"] for u in closed["incident_updates"]] == ["resolved", "investigating"]
    open_update = unresolved["incidents"][0]["incident_updates"][0]
    assert open_update["affected_components"] == [
        {"code": world["open"].affected.get().component.public_id, "name": "Workflows",
         "old_status": "operational", "new_status": "partial_outage"}
    ]  # fmt: skip


def test_incidents_json_stops_at_fifty(client, components, staff):
    for n in range(52):
        services.incident_create(name=f"Blip {n}", impact=Impact.NONE, body="x", notify=False, actor=staff)
    assert len(client.get("/api/v2/incidents.json").json()["incidents"]) == 50


def test_maintenance_endpoints_filter_by_status(client, world):
    every = client.get("/api/v2/scheduled-maintenances.json").json()["scheduled_maintenances"]
    upcoming = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()["scheduled_maintenances"]
    active = client.get("/api/v2/scheduled-maintenances/active.json").json()["scheduled_maintenances"]

    assert {m["id"] for m in every} == {world["upcoming"].public_id, world["active"].public_id}
    assert [m["id"] for m in upcoming] == [world["upcoming"].public_id]
    assert [(m["id"], m["status"]) for m in active] == [(world["active"].public_id, "in_progress")]
    for maintenance in every:
        check_incident(maintenance, maintenance=True)
        check_time(maintenance["scheduled_for"])
        check_time(maintenance["scheduled_until"])


def test_hidden_components_are_left_out(client, world):
    Component.objects.filter(slug="email").update(hidden=True)
    names = {c["name"] for c in client.get("/api/v2/components.json").json()["components"]}
    assert "Email" not in names and "Web/API" in names


def test_it_answers_anonymous_clients_without_a_key(client, world):
    client.logout()
    assert client.get("/api/v2/summary.json", HTTP_X_API_KEY="not-a-key").status_code == 200
    # The world has a major incident open: health answers 503, but answers.
    health = client.get("/api/status/health", HTTP_X_API_KEY="not-a-key")
    assert health.status_code == 503 and health.json()["ok"] is False


@pytest.mark.parametrize(
    ("state", "incident", "maintenance", "expected"),
    [
        (State.UP, None, False, "operational"),
        (State.DEGRADED, None, False, "degraded_performance"),
        (State.DOWN, None, False, "major_outage"),
        (State.UP, "partial_outage", False, "partial_outage"),
        (State.DOWN, "degraded_performance", False, "major_outage"),
        (State.DOWN, None, True, "under_maintenance"),
    ],
)
def test_it_maps_our_states_to_statuspage_component_statuses(state, incident, maintenance, expected):
    assert selectors.component_status(state, incident_status=incident, in_maintenance=maintenance) == expected


@pytest.mark.parametrize(
    ("components", "impacts", "maintenance", "expected"),
    [
        ([("operational", True)], [], False, "none"),
        ([("operational", True)], [], True, "maintenance"),
        ([("degraded_performance", False)], [], True, "minor"),
        ([("partial_outage", False)], [], False, "major"),
        ([("major_outage", False)], [], False, "major"),
        ([("major_outage", True)], [], False, "critical"),
        ([("operational", True)], ["minor", "critical"], False, "critical"),
        ([("operational", True)], ["none"], False, "none"),
    ],
)
def test_it_derives_the_page_indicator(components, impacts, maintenance, expected):
    assert selectors.page_indicator(components, impacts, maintenance) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "",
        "*/*",
        "application/json",
        "text/html",
        "application/xml, */*",
        "application/*",
        "text/html;q=0.9, */*;q=0.1",
        "application/json; indent=4",
    ],
)
@pytest.mark.parametrize("query", ["", "format=json", "format=xml"])
def test_the_v2_endpoints_negotiate_as_drf_does(rf, accept, query):
    # The v2 views skip DRF's Accept parsing when no entry has parameters:
    # the same renderer and media type as the full negotiation.
    from rest_framework.request import Request

    from status.api import LenientNegotiation, StatuspageSummaryApi

    request = rf.get(f"/api/v2/summary.json?{query}", HTTP_ACCEPT=accept)
    view = StatuspageSummaryApi()
    view.format_kwarg = None  # as DRF's initial() leaves it for these URLs
    drf_request = Request(request)
    renderer, media_type = view.perform_content_negotiation(drf_request)
    expected_renderer, expected_media_type = LenientNegotiation().select_renderer(
        drf_request, [r() for r in view.renderer_classes]
    )
    assert (type(renderer), media_type) == (type(expected_renderer), expected_media_type)
