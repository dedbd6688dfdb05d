"""The Statuspage-compatible manage API (/api/v1/): every endpoint answers
Statuspage's shapes (held to the recorded examples in fixtures/statuspage_v1),
only staff status keys get in (scoped, revocable, rate-limited), every call
is audited, and what it writes shows where /status readers look."""

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from compliance.models import AuditEvent, OutboundEmail
from levqor.api.testing import issue_key
from status import services
from status.models import (
    Component,
    Incident,
    Maintenance,
    StatusApiKey,
    Subscriber,
    WebhookDelivery,
    WebhookSubscriber,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "statuspage_v1"
PAGE = settings.LEVQOR_STATUS_PAGE_ID
BASE = f"/api/v1/pages/{PAGE}"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def recorded(name: str, **ids: str):
    """A recorded Statuspage example, with `__name__` placeholders replaced."""
    text = (FIXTURES / f"{name}.json").read_text()
    for placeholder, value in ids.items():
        text = text.replace(f"__{placeholder}__", value)
    return json.loads(text)


def assert_shape(ours, theirs, path="$"):
    """Ours has exactly the keys of Statuspage's example, each of the same
    JSON type (null where theirs is null or not: nullable fields), recursively."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(theirs), (path, sorted(set(ours) ^ set(theirs)))
        for key, value in theirs.items():
            if key == "metadata":
                continue  # free-form
            assert_shape(ours[key], value, f"{path}.{key}")
    elif isinstance(theirs, list):
        if ours is None:
            return  # a nullable array (affected_components)
        assert isinstance(ours, list), path
        if theirs and ours:
            for item in ours:
                assert_shape(item, theirs[0], f"{path}[]")
    elif ours is None or theirs is None:
        return
    elif isinstance(theirs, bool):
        assert isinstance(ours, bool), path
    elif isinstance(theirs, int | float):
        assert isinstance(ours, int | float) and not isinstance(ours, bool), path
    elif isinstance(theirs, str) and ISO.match(theirs):
        assert isinstance(ours, str) and ISO.match(ours), (path, ours)
    else:
        assert isinstance(ours, str), (path, ours)


@pytest.fixture
def components(db) -> dict[str, Component]:
    services.components_ensure()
    group = Component.objects.create(slug="platform", name="Platform", is_group=True, probe="", position=1)
    Component.objects.filter(slug__in=["web", "database"]).update(group=group)
    return {c.slug: c for c in Component.objects.all()}


@pytest.fixture
def ids(components) -> dict[str, str]:
    return {"web": components["web"].public_id, "database": components["database"].public_id}


@pytest.fixture
def key(staff):
    return services.status_api_key_create(name="CI pipeline", scope=StatusApiKey.Scope.WRITE, actor=staff)


@pytest.fixture
def api(client, key, django_capture_on_commit_callbacks):
    """The test client sending the key as Statuspage does; writes commit
    (on_commit callbacks run: emails, cache invalidation)."""

    class Caller:
        def __init__(self, secret):
            self.secret = secret

        def call(self, method, path, body=None, **extra):
            headers = {"Authorization": f"OAuth {self.secret}"} if self.secret else {}
            headers.update(extra.pop("headers", {}))
            with django_capture_on_commit_callbacks(execute=True):
                if body is None:
                    return getattr(client, method)(path, headers=headers, **extra)
                return getattr(client, method)(
                    path, json.dumps(body), content_type="application/json", headers=headers, **extra
                )

        def get(self, path, **extra):
            return self.call("get", path, **extra)

        def post(self, path, body, **extra):
            return self.call("post", path, body, **extra)

        def patch(self, path, body, **extra):
            return self.call("patch", path, body, **extra)

        def put(self, path, body, **extra):
            return self.call("put", path, body, **extra)

        def delete(self, path, **extra):
            return self.call("delete", path, **extra)

    return Caller(key.secret)


# --- Shapes, against the recorded examples --------------------------------------------------


def test_pages_list_the_one_page_in_statuspage_shape(api, components):
    response = api.get("/api/v1/pages")
    assert response.status_code == 200
    (page,) = response.json()
    assert_shape(page, recorded("page"))
    assert page["id"] == PAGE and page["time_zone"] == settings.TIME_ZONE
    single = api.get(f"/api/v1/pages/{PAGE}")
    assert single.status_code == 200 and single.json() == page


def test_components_list_every_component_with_groups(api, components, ids):
    response = api.get(f"{BASE}/components")
    assert response.status_code == 200
    listed = {c["id"]: c for c in response.json()}
    assert set(listed) == {c.public_id for c in components.values()}
    for component in listed.values():
        assert_shape({k: v for k, v in component.items() if k != "components"}, recorded("component"))
    group = listed[components["platform"].public_id]
    assert group["group"] is True and set(group["components"]) == {ids["web"], ids["database"]}
    assert listed[ids["web"]]["group_id"] == components["platform"].public_id
    one = api.get(f"{BASE}/components/{ids['web']}")
    assert one.status_code == 200 and one.json() == listed[ids["web"]]


def test_a_component_status_set_through_the_api_shows_on_v2_and_health(client, api, db):
    # A manual component (no probe), so nothing but what staff say decides it.
    manual = Component.objects.create(slug="api", name="API", probe="", critical=True)
    assert client.get("/api/status/health").status_code == 200
    response = api.patch(f"{BASE}/components/{manual.public_id}", recorded("component_update_request"))
    assert response.status_code == 200, response.content
    assert_shape(response.json(), recorded("component"))
    assert response.json()["status"] == "partial_outage"
    v2 = {c["id"]: c for c in client.get("/api/v2/components.json").json()["components"]}
    assert v2[manual.public_id]["status"] == "partial_outage"
    health = client.get("/api/status/health")
    assert health.status_code == 503 and health.json()["components"]["api"] == {
        "ok": False,
        "status": "down",
        "latencyMs": None,
    }
    # Operational clears it (PUT works like PATCH, as in Statuspage).
    cleared = api.put(f"{BASE}/components/{manual.public_id}", {"component": {"status": "operational"}})
    assert cleared.json()["status"] == "operational"
    assert client.get("/api/status/health").status_code == 200
    manual.refresh_from_db()
    assert manual.declared_status is None
    assert AuditEvent.objects.filter(action="status.component.status_set", target_id=str(manual.pk)).count() == 2


def test_a_declared_status_never_hides_a_worse_probe(components):
    Component.objects.filter(pk=components["web"].pk).update(state="down")
    services.component_status_set(component=components["web"], status="degraded_performance", actor=None)
    evaluation = services.history.selectors.status_evaluate(cached=False)
    assert evaluation.by_id[components["web"].pk].status == "major_outage"


def test_create_update_and_resolve_an_incident_as_statuspage_does(client, api, components, ids):
    created = api.post(f"{BASE}/incidents", recorded("incident_create_request", **ids))
    assert created.status_code == 201, created.content
    incident = created.json()
    assert_shape(incident, recorded("incident"))
    assert incident["status"] == "investigating" and incident["impact"] == "critical"
    assert [c["id"] for c in incident["components"]] == [ids["web"]]
    assert incident["components"][0]["status"] == "major_outage"
    (first,) = incident["incident_updates"]
    assert first["deliver_notifications"] is True
    assert first["affected_components"] == [
        {"code": ids["web"], "name": "Web/API", "old_status": "operational", "new_status": "major_outage"}
    ]
    unresolved = client.get("/api/v2/incidents/unresolved.json").json()["incidents"]
    assert [i["id"] for i in unresolved] == [incident["id"]]
    assert api.get(f"{BASE}/incidents/unresolved").json()[0]["id"] == incident["id"]

    resolved = api.patch(f"{BASE}/incidents/{incident['id']}", recorded("incident_update_request", **ids))
    assert resolved.status_code == 200, resolved.content
    body = resolved.json()
    assert_shape(body, recorded("incident"))
    assert body["status"] == "resolved" and body["resolved_at"] is not None
    assert body["impact"] == "critical"  # kept, though its components are operational again
    assert [u["status"] for u in body["incident_updates"]] == ["resolved", "investigating"]
    assert client.get("/api/v2/incidents/unresolved.json").json()["incidents"] == []
    assert api.get(f"{BASE}/incidents/unresolved").json() == []
    assert api.get(f"{BASE}/incidents/{incident['id']}").json()["status"] == "resolved"
    actions = list(
        AuditEvent.objects.filter(action__startswith="status.incident.").values_list("action", "actor_label")
    )
    label = StatusApiKey.objects.get().audit_label
    assert ("status.incident.created", label) in actions and ("status.incident.updated", label) in actions


def test_an_impact_override_is_kept_and_answered_as_statuspage_does(api, components, ids):
    """`impact_override` answers as given, and later component statuses do
    not move the impact it set (it is what the caller asked for)."""
    created = api.post(
        f"{BASE}/incidents",
        {"incident": {"name": "Slow API", "impact_override": "minor", "components": {ids["web"]: "partial_outage"}}},
    ).json()
    assert (created["impact"], created["impact_override"]) == ("minor", "minor")
    worse = api.patch(
        f"{BASE}/incidents/{created['id']}",
        {"incident": {"status": "identified", "body": "Worse.", "components": {ids["web"]: "major_outage"}}},
    ).json()
    assert (worse["impact"], worse["impact_override"]) == ("minor", "minor")
    assert worse["components"][0]["status"] == "major_outage"
    raised = api.patch(f"{BASE}/incidents/{created['id']}", {"incident": {"impact_override": "critical"}}).json()
    assert (raised["impact"], raised["impact_override"]) == ("critical", "critical")
    computed = api.post(
        f"{BASE}/incidents", {"incident": {"name": "Errors", "components": {ids["web"]: "partial_outage"}}}
    ).json()
    assert (computed["impact"], computed["impact_override"]) == ("major", None)


def test_an_incident_created_resolved_has_its_resolved_at(client, api, components, ids):
    """Telling of a past outage: created already resolved. Without
    resolved_at it read as never ending (the SLA counted it up to now)."""
    created = api.post(
        f"{BASE}/incidents",
        {"incident": {"name": "Blip", "status": "resolved", "components": {ids["web"]: "major_outage"}}},
    ).json()
    assert created["status"] == "resolved" and created["resolved_at"] == created["created_at"]
    (public,) = client.get("/api/v2/incidents.json").json()["incidents"]
    assert public["resolved_at"] == created["resolved_at"]
    assert Incident.objects.get(public_id=created["id"]).resolved_at is not None


def test_the_reference_curl_example_works_form_encoded(client, key, components, ids):
    """Statuspage's reference shows curl with `-d "incident[name]=…"`: the same call, unchanged."""
    lines = (FIXTURES / "incident_create_curl.txt").read_text().splitlines()
    for placeholder, value in ids.items():
        lines = [line.replace(f"__{placeholder}__", value) for line in lines]
    body = urlencode([tuple(line.split("=", 1)) for line in lines])
    response = client.post(
        f"{BASE}/incidents",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"OAuth {key.secret}"},
    )
    assert response.status_code == 201, response.content
    incident = response.json()
    assert_shape(incident, recorded("incident"))
    assert (incident["name"], incident["status"], incident["impact"]) == ("Elevated API errors", "identified", "major")
    statuses = {c["id"]: c["status"] for c in incident["components"]}
    assert statuses == {ids["web"]: "partial_outage", ids["database"]: "operational"}


def test_paths_also_answer_with_statuspages_json_suffix(api, components, ids):
    listed = api.get(f"{BASE}/components.json")
    assert listed.status_code == 200 and listed.json() == api.get(f"{BASE}/components").json()
    assert api.get(f"{BASE}/components/{ids['web']}.json").json()["id"] == ids["web"]
    created = api.post(f"{BASE}/incidents.json", {"incident": {"name": "Old script"}})
    assert created.status_code == 201 and created.json()["name"] == "Old script"
    assert api.get("/api/v1/pages.json").json()[0]["id"] == PAGE
    assert api.get(f"{BASE}/nothing.json").status_code == 404


def test_a_malformed_form_field_is_a_400(client, key, components):
    response = client.post(
        f"{BASE}/incidents",
        "incident[name=X",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"OAuth {key.secret}"},
    )
    assert response.status_code == 400 and "not of the form" in response.json()["error"]


def test_an_incident_update_without_a_status_keeps_it_and_posts_the_body(api, components, ids):
    incident = api.post(f"{BASE}/incidents", {"incident": {"name": "Slow", "body": "Looking."}}).json()
    assert incident["impact"] == "none" and incident["components"] == []
    update = api.patch(f"{BASE}/incidents/{incident['id']}", {"incident": {"body": "Still looking."}}).json()
    assert update["status"] == "investigating"
    assert [u["body"] for u in update["incident_updates"]] == ["Still looking.", "Looking."]
    # `components` alone changes the impacts (and the computed impact), posting nothing.
    changed = api.patch(
        f"{BASE}/incidents/{incident['id']}", {"incident": {"components": {ids["database"]: "degraded_performance"}}}
    ).json()
    assert len(changed["incident_updates"]) == 2 and changed["impact"] == "minor"
    assert [(c["id"], c["status"]) for c in changed["components"]] == [(ids["database"], "degraded_performance")]


def test_a_group_in_component_ids_stands_for_its_components(api, components, ids):
    group = components["platform"].public_id
    incident = api.post(
        f"{BASE}/incidents", {"incident": {"name": "Platform down", "components": {group: "major_outage"}}}
    ).json()
    assert {c["id"] for c in incident["components"]} == {ids["web"], ids["database"]}
    assert {c["status"] for c in incident["components"]} == {"major_outage"}


def test_create_scheduled_maintenance_the_statuspage_way(client, api, components, ids):
    start = timezone.now() + timedelta(days=3)
    request = recorded(
        "maintenance_create_request",
        **ids,
        **{"for": start.isoformat(), "until": (start + timedelta(hours=1)).isoformat()},
    )
    created = api.post(f"{BASE}/incidents", request)
    assert created.status_code == 201, created.content
    maintenance = created.json()
    assert_shape(maintenance, recorded("incident"))
    assert maintenance["status"] == "scheduled" and maintenance["impact"] == "maintenance"
    assert datetime.fromisoformat(maintenance["scheduled_for"]) == start.replace(
        microsecond=start.microsecond // 1000 * 1000
    )
    assert maintenance["scheduled_auto_in_progress"] is True
    assert [c["id"] for c in maintenance["components"]] == [ids["database"]]
    upcoming = client.get("/api/v2/scheduled-maintenances/upcoming.json").json()["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == [maintenance["id"]]
    for path in ("incidents/upcoming", "incidents/scheduled", "incidents"):
        assert [m["id"] for m in api.get(f"{BASE}/{path}").json()] == [maintenance["id"]], path
    assert api.get(f"{BASE}/incidents/active_maintenance").json() == []

    started = api.patch(f"{BASE}/incidents/{maintenance['id']}", {"incident": {"status": "in_progress"}})
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    assert [m["id"] for m in api.get(f"{BASE}/incidents/active_maintenance").json()] == [maintenance["id"]]
    v2 = {c["id"]: c["status"] for c in client.get("/api/v2/components.json").json()["components"]}
    assert v2[ids["database"]] == "under_maintenance"
    backwards = api.patch(f"{BASE}/incidents/{maintenance['id']}", {"incident": {"status": "scheduled"}})
    assert backwards.status_code == 422 and "cannot move" in backwards.json()["error"]


@pytest.mark.parametrize("deliver", [True, False])
def test_a_maintenance_announcement_is_emailed_once_unless_told_not_to(api, components, deliver):
    Subscriber.objects.create(email="ops@customer.example", confirmed_at=timezone.now() - timedelta(days=1))
    start = timezone.now() + timedelta(days=3)
    body = {
        "incident": {
            "name": "Upgrade",
            "status": "scheduled",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
            "deliver_notifications": deliver,
        }
    }
    assert api.post(f"{BASE}/incidents", body).status_code == 201
    services.notifications_sweep()  # a second fan-out (the minute sweep) queues nothing twice
    assert OutboundEmail.objects.filter(kind="status.maintenance").count() == (1 if deliver else 0)


def test_a_maintenance_update_with_the_same_status_is_posted_and_emailed_once(api, components, ids):
    """Statuspage allows an update that keeps the status (a progress note):
    a body alone posts it, told to subscribers unless deliver_notifications is false."""
    from django.core import mail

    Subscriber.objects.create(email="ops@customer.example", confirmed_at=timezone.now() - timedelta(days=1))
    start = timezone.now() + timedelta(days=3)
    window = {"scheduled_for": start.isoformat(), "scheduled_until": (start + timedelta(hours=1)).isoformat()}
    maintenance = api.post(
        f"{BASE}/incidents",
        {"incident": {"name": "Upgrade", "status": "scheduled", "component_ids": [ids["database"]], **window}},
    ).json()
    path = f"{BASE}/incidents/{maintenance['id']}"
    mail.outbox.clear()

    posted = api.patch(path, {"incident": {"body": "The window moves by ten minutes."}})
    assert posted.status_code == 200, posted.content
    body = posted.json()
    assert body["status"] == "scheduled"
    assert [(u["status"], u["body"]) for u in body["incident_updates"]][0] == (
        "scheduled",
        "The window moves by ten minutes.",
    )
    same = api.patch(path, {"incident": {"status": "scheduled", "body": "Same again, status named."}})
    assert same.status_code == 200 and len(same.json()["incident_updates"]) == 3
    quiet = api.patch(path, {"incident": {"body": "Noted quietly.", "deliver_notifications": False}})
    assert quiet.status_code == 200 and quiet.json()["incident_updates"][0]["deliver_notifications"] is False
    services.notifications_sweep()  # the minute sweep queues nothing twice
    assert [m.subject for m in mail.outbox] == ["[Levqor status] Maintenance update: Upgrade"] * 2
    assert "The window moves by ten minutes." in mail.outbox[0].body
    assert OutboundEmail.objects.filter(kind="status.maintenance").count() == 3  # announced + two notes
    label = StatusApiKey.objects.get().audit_label
    assert AuditEvent.objects.filter(action="status.maintenance.updated", actor_label=label).count() == 3

    # In progress, a note keeps it in progress (and says so as an update, not "started" again).
    started = api.patch(path, {"incident": {"status": "in_progress"}})
    assert started.json()["status"] == "in_progress"
    mail.outbox.clear()
    note = api.patch(path, {"incident": {"body": "Half way."}})
    assert note.json()["status"] == "in_progress"
    assert [m.subject for m in mail.outbox] == ["[Levqor status] Maintenance update: Upgrade"]


def test_incident_notices_follow_deliver_notifications_and_resolving_always_emails(api, components):
    Subscriber.objects.create(email="ops@customer.example", confirmed_at=timezone.now() - timedelta(days=1))
    quiet = {"incident": {"name": "Blip", "body": "Looking.", "deliver_notifications": False}}
    incident = api.post(f"{BASE}/incidents", quiet).json()
    api.patch(f"{BASE}/incidents/{incident['id']}", {"incident": {"body": "Quiet.", "deliver_notifications": False}})
    assert OutboundEmail.objects.filter(kind="status.incident-update").count() == 0
    api.patch(
        f"{BASE}/incidents/{incident['id']}", {"incident": {"status": "resolved", "deliver_notifications": False}}
    )
    services.notifications_sweep()
    assert OutboundEmail.objects.filter(kind="status.incident-update").count() == 1


def test_setting_the_same_status_twice_changes_it_once(api, components, ids):
    for _ in range(2):
        response = api.patch(f"{BASE}/components/{ids['web']}", {"component": {"status": "major_outage"}})
        assert response.json()["status"] == "major_outage"
    assert AuditEvent.objects.filter(action="status.component.status_set").count() == 1


def test_a_maintenance_needs_its_window(api, components):
    response = api.post(f"{BASE}/incidents", {"incident": {"name": "Upgrade", "status": "scheduled"}})
    assert response.status_code == 422
    assert response.json() == {"error": "A scheduled maintenance needs scheduled_for and scheduled_until."}
    assert not Maintenance.objects.exists()


def test_delete_an_incident_answers_with_it(client, api, components):
    incident = api.post(f"{BASE}/incidents", {"incident": {"name": "Oops", "body": "Wrong page."}}).json()
    deleted = api.delete(f"{BASE}/incidents/{incident['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == incident["id"]
    assert not Incident.objects.exists()
    assert api.get(f"{BASE}/incidents/{incident['id']}").status_code == 404
    assert client.get("/api/v2/incidents.json").json()["incidents"] == []
    assert AuditEvent.objects.filter(action="status.incident.deleted").count() == 1


def test_subscribers_add_list_and_unsubscribe(api, components, ids):
    created = api.post(f"{BASE}/subscribers", recorded("subscriber_create_request", **ids))
    assert created.status_code == 201, created.content
    subscriber = created.json()
    assert_shape(subscriber, recorded("subscriber"))
    assert subscriber["mode"] == "email" and subscriber["email"] == "ops@customer.example"
    # Double opt-in: unconfirmed until the emailed link is followed.
    assert api.get(f"{BASE}/subscribers").json() == []
    assert [s["id"] for s in api.get(f"{BASE}/subscribers", data={"state": "unconfirmed"}).json()] == [subscriber["id"]]
    Subscriber.objects.update(confirmed_at=timezone.now())
    (active,) = api.get(f"{BASE}/subscribers").json()
    assert_shape(active, recorded("subscriber"))
    assert api.get(f"{BASE}/subscribers", data={"type": "sms"}).json() == []
    removed = api.delete(f"{BASE}/subscribers/{subscriber['id']}")
    assert removed.status_code == 200 and removed.json()["id"] == subscriber["id"]
    assert Subscriber.objects.get().unsubscribed_at is not None
    assert api.get(f"{BASE}/subscribers").json() == []
    assert api.get(f"{BASE}/subscribers/{subscriber['id']}").status_code == 200


def test_subscribers_refuse_sms_and_unknown_or_hidden_components(api, components, ids):
    sms = api.post(f"{BASE}/subscribers", {"subscriber": {"phone_number": "+441234567890", "phone_country": "GB"}})
    assert sms.status_code == 422 and "SMS subscribers are not supported" in sms.json()["error"]
    unknown = api.post(f"{BASE}/subscribers", {"subscriber": {"email": "a@b.example", "component_ids": ["nope"]}})
    assert unknown.status_code == 422 and unknown.json() == {"error": "Unknown component id(s): nope."}
    Component.objects.filter(slug="cache").update(hidden=True)
    hidden = api.post(
        f"{BASE}/subscribers",
        {"subscriber": {"email": "a@b.example", "component_ids": [components["cache"].public_id]}},
    )
    assert hidden.status_code == 422 and "hidden from the status page" in hidden.json()["error"]
    assert components["cache"].public_id in hidden.json()["error"]
    empty = api.post(f"{BASE}/subscribers", {"subscriber": {"email": "a@b.example", "component_ids": []}})
    assert empty.status_code == 422 and "at least one component" in empty.json()["error"]
    assert not Subscriber.objects.exists()


def test_an_email_subscriber_keeps_the_components_it_chose(api, components, ids):
    """`component_ids` is stored (a group stands for its visible components)
    and each subscriber answers with its own components; one that chose none
    has every visible component."""
    Component.objects.filter(slug="web").update(hidden=True)  # hidden: never offered, not part of "all"
    visible = [c["id"] for c in api.get(f"{BASE}/components").json() if not c["group"] and c["id"] != ids["web"]]
    group = components["platform"].public_id
    picky = api.post(f"{BASE}/subscribers", {"subscriber": {"email": "db@customer.example", "component_ids": [group]}})
    assert picky.status_code == 201, picky.content
    assert picky.json()["components"] == [ids["database"]]  # the group's one visible component
    assert list(Subscriber.objects.get(email="db@customer.example").components.all()) == [components["database"]]
    anyone = api.post(f"{BASE}/subscribers", {"subscriber": {"email": "all@customer.example"}}).json()
    assert not Subscriber.objects.get(email="all@customer.example").components.exists()
    assert anyone["components"] == visible and ids["web"] not in anyone["components"]
    Subscriber.objects.update(confirmed_at=timezone.now())
    listed = {s["email"]: s["components"] for s in api.get(f"{BASE}/subscribers").json()}
    assert listed == {"db@customer.example": [ids["database"]], "all@customer.example": anyone["components"]}
    assert api.get(f"{BASE}/subscribers/{picky.json()['id']}").json()["components"] == [ids["database"]]


def test_subscribers_page_from_0_as_statuspage_counts_them(api, components):
    """Statuspage's subscriber list: "The first page is page 0 ... This skips
    page * limit subscribers"; a script walking page=0, 1, 2 sees each once."""
    for n in range(5):
        api.post(f"{BASE}/subscribers", {"subscriber": {"email": f"s{n}@customer.example"}})
    Subscriber.objects.update(confirmed_at=timezone.now())
    pages = [
        [s["email"] for s in api.get(f"{BASE}/subscribers", data={"limit": 2, "page": page}).json()]
        for page in (0, 1, 2, 3)
    ]
    assert pages == [
        ["s0@customer.example", "s1@customer.example"],
        ["s2@customer.example", "s3@customer.example"],
        ["s4@customer.example"],
        [],
    ]
    assert [s["email"] for s in api.get(f"{BASE}/subscribers", data={"limit": 2}).json()] == pages[0]
    refused = api.get(f"{BASE}/subscribers", data={"page": -1})
    assert refused.status_code == 400 and refused.json() == {"error": "page: use a whole number from 0."}


@pytest.mark.parametrize("path", ["incidents", "incidents/unresolved"])
def test_incident_lists_take_statuspages_per_page(api, components, path):
    """The unresolved, scheduled, upcoming and active_maintenance lists are
    paged with `page` and `per_page` in Statuspage's reference."""
    for n in range(3):
        api.post(f"{BASE}/incidents", {"incident": {"name": f"Incident {n}", "status": "investigating"}})
    pages = [
        [i["name"] for i in api.get(f"{BASE}/{path}", data={"per_page": 2, "page": page}).json()] for page in (1, 2)
    ]
    assert pages == [["Incident 2", "Incident 1"], ["Incident 0"]]
    refused = api.get(f"{BASE}/{path}", data={"per_page": 101})
    assert refused.status_code == 400 and refused.json() == {"error": "per_page: use a whole number from 1 to 100."}


def test_webhook_subscribers_are_added_listed_and_unsubscribed_through_the_api(client, api, components, ids, receiver):
    """Webhook mode: the owner confirms by email, as on the public form;
    listed with Statuspage's `type` filter under an id of their own."""
    from django.core import mail

    email = api.post(f"{BASE}/subscribers", {"subscriber": {"email": "ops@customer.example"}}).json()
    body = {"subscriber": {"endpoint": receiver.url, "email": "Owner@Customer.example", "component_ids": [ids["web"]]}}
    created = api.post(f"{BASE}/subscribers", body)
    assert created.status_code == 201, created.content
    hook = created.json()
    assert_shape(hook, recorded("subscriber"))
    webhook = WebhookSubscriber.objects.get()
    assert hook["id"] == f"wh_{webhook.public_id}" and hook["id"] != email["id"]
    assert (hook["mode"], hook["endpoint"], hook["email"], hook["components"]) == (
        "webhook",
        receiver.url,
        "owner@customer.example",
        [ids["web"]],
    )
    assert not webhook.is_active and list(webhook.components.all()) == [components["web"]]
    assert [m.subject for m in mail.outbox if m.to == ["owner@customer.example"]] == [
        "Confirm your Levqor status webhook"
    ]
    assert api.get(f"{BASE}/subscribers").json() == []  # nothing active before the owners confirm
    unconfirmed = api.get(f"{BASE}/subscribers", data={"state": "unconfirmed"}).json()
    assert [s["id"] for s in unconfirmed] == [email["id"], hook["id"]]  # every type by default, oldest first

    confirm = re.search(r"http://testserver(/status/webhooks/confirm/\S+)", mail.outbox[-1].body).group(1)
    client.post(confirm)
    Subscriber.objects.update(confirmed_at=timezone.now())
    assert [s["mode"] for s in api.get(f"{BASE}/subscribers").json()] == ["email", "webhook"]
    assert [s["id"] for s in api.get(f"{BASE}/subscribers", data={"type": "webhook"}).json()] == [hook["id"]]
    assert [s["id"] for s in api.get(f"{BASE}/subscribers", data={"type": "email"}).json()] == [email["id"]]
    assert len(api.get(f"{BASE}/subscribers", data={"type": ""}).json()) == 2  # empty: every type
    assert api.get(f"{BASE}/subscribers", data={"type": "sms"}).json() == []
    assert [s["id"] for s in api.get(f"{BASE}/subscribers", data={"q": "hooks/status"}).json()] == [hook["id"]]
    assert api.get(f"{BASE}/subscribers/{hook['id']}").json()["endpoint"] == receiver.url

    # Disabled after repeated failures: Statuspage's quarantined state.
    WebhookSubscriber.objects.update(disabled_at=timezone.now())
    (quarantined,) = api.get(f"{BASE}/subscribers", data={"state": "quarantined"}).json()
    assert quarantined["id"] == hook["id"] and quarantined["quarantined_at"] is not None
    WebhookSubscriber.objects.update(disabled_at=None)

    removed = api.delete(f"{BASE}/subscribers/{hook['id']}")
    assert removed.status_code == 200 and removed.json()["id"] == hook["id"]
    webhook.refresh_from_db()
    assert webhook.unsubscribed_at is not None
    label = StatusApiKey.objects.get().audit_label
    assert AuditEvent.objects.filter(action="status.webhook.unsubscribed", actor_label=label).count() == 1
    assert [s["id"] for s in api.get(f"{BASE}/subscribers", data={"state": "unsubscribed"}).json()] == [hook["id"]]
    assert Subscriber.objects.get().unsubscribed_at is None  # the email subscriber is untouched


def test_a_refused_webhook_endpoint_is_a_422_with_the_reason(api, components, settings):
    settings.LEVQOR_STATUS_WEBHOOK_ALLOW_LOOPBACK = False
    for endpoint, reason in (
        ("http://127.0.0.1:9/hook", "endpoint: The endpoint must use https://."),
        ("https://10.1.2.3/hook", "endpoint: The endpoint must be a public address."),
        ("https://user:pw@hooks.example/x", "endpoint: The URL must not contain a user name or password."),
        ("not a url", "subscriber.endpoint: Enter a valid URL."),
    ):
        response = api.post(
            f"{BASE}/subscribers", {"subscriber": {"endpoint": endpoint, "email": "o@customer.example"}}
        )
        assert (response.status_code, response.json()) == (422, {"error": reason}), endpoint
    ownerless = api.post(f"{BASE}/subscribers", {"subscriber": {"endpoint": "https://hooks.example/x"}})
    assert ownerless.status_code == 422 and "owner's address" in ownerless.json()["error"]
    assert not WebhookSubscriber.objects.exists()


@pytest.mark.parametrize("subscriber_id", ["wh_nosuchhook1", "wh_", "wh_../x", "99999999999999999999999"])
def test_unknown_subscriber_ids_of_either_kind_are_404(api, components, subscriber_id):
    assert api.get(f"{BASE}/subscribers/{subscriber_id}").status_code == 404
    assert api.delete(f"{BASE}/subscribers/{subscriber_id}").status_code == 404


def test_a_component_status_set_through_the_api_reaches_the_webhooks_that_chose_it(
    api, components, ids, receiver, stub_probes
):
    from status.tests.test_webhooks import verify

    now = timezone.now()
    services.heartbeat_beat(now=now)
    services.snapshot_take(now=now)
    services.component_changes_publish(now=now)  # every component operational, as published
    web = services.webhook_subscriber_create(
        endpoint=receiver.url, email="web@customer.example", components=[components["web"]], actor=None
    )
    services.webhook_subscriber_create(
        endpoint=receiver.url, email="cache@customer.example", components=[components["cache"]], actor=None
    )
    response = api.patch(f"{BASE}/components/{ids['web']}", {"component": {"status": "partial_outage"}})
    assert response.status_code == 200 and response.json()["status"] == "partial_outage"
    api.patch(f"{BASE}/components/{ids['web']}", {"component": {"status": "partial_outage"}})  # unchanged: no news

    [(headers, body)] = receiver.received  # one delivery, to the subscriber of web only
    assert verify(headers, body, web.secret) and headers["X-Levqor-Event"] == "component_update"
    payload = json.loads(body)
    assert (payload["component_update"]["component_id"], payload["component_update"]["new_status"]) == (
        ids["web"],
        "partial_outage",
    )
    assert payload["component"]["status"] == "partial_outage"
    assert WebhookDelivery.objects.get().subscriber == web


def test_a_component_scoped_email_subscriber_hears_only_of_incidents_naming_its_component(client, api, components, ids):
    from django.core import mail

    api.post(
        f"{BASE}/subscribers", {"subscriber": {"email": "db@customer.example", "component_ids": [ids["database"]]}}
    )
    client.post(re.search(r"http://testserver(/status/subscribe/confirm/\S+)", mail.outbox[-1].body).group(1))
    assert Subscriber.objects.get().is_active
    mail.outbox.clear()
    api.post(
        f"{BASE}/incidents", {"incident": {"name": "Web slow", "components": {ids["web"]: "degraded_performance"}}}
    )
    api.post(f"{BASE}/incidents", {"incident": {"name": "DB down", "components": {ids["database"]: "major_outage"}}})
    services.notifications_sweep()
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["db@customer.example"], "[Levqor status] DB down: Investigating")
    ]


# --- Errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pages/nosuchpage",
        f"{BASE}/components/nosuchcomponent",
        f"{BASE}/incidents/nosuchincident",
        f"{BASE}/subscribers/123456",
        f"{BASE}/subscribers/not-a-number",
        "/api/v1/pages/nosuchpage/incidents",
        "/api/v1/pages/How can we help?",
        f"{BASE}/incidents/a b.c",
        # Paths we do not have at all (Statuspage has them, or a stray slash).
        f"{BASE}/incident_templates",
        f"{BASE}/incidents/",
        "/api/v1/nothing-here",
    ],
)
def test_unknown_things_are_404_in_statuspage_form(api, components, path):
    response = api.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert_shape(response.json(), recorded("error"))


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"incident": {"name": "X", "colour": "red"}}, 400, "Received unknown field: incident.colour."),
        ({"incident": {"name": "X"}, "extra": 1}, 400, "Received unknown field: extra."),
        ({"name": "X"}, 400, "Received unknown field: name."),
        ({}, 400, 'The body must be a JSON object {"incident": {...}}.'),
        ({"incident": "X"}, 400, 'The body must be a JSON object {"incident": {...}}.'),
        ({"incident": {"body": "no name"}}, 422, "incident.name: This field is required."),
        ({"incident": {"name": "X", "status": "exploded"}}, 422, 'incident.status: "exploded" is not a valid choice.'),
        ({"incident": {"name": "X", "components": {"__web__": "fine"}}}, 422, "is not a valid choice"),
        ({"incident": {"name": "X", "component_ids": ["nope"]}}, 422, "Unknown component id(s): nope."),
        (
            {"incident": {"name": "X", "components": {"__web__": "under_maintenance"}}},
            422,
            "is for scheduled maintenance",
        ),
        ({"incident": {"name": "X", "backfilled": True}}, 422, "Backfilled incidents are not supported."),
        (
            {
                "incident": {
                    "name": "X",
                    "status": "scheduled",
                    "scheduled_for": "2030-01-02T10:00:00Z",
                    "scheduled_until": "2030-01-02T09:00:00Z",
                }
            },
            422,
            "incident.scheduled_until: Must be after scheduled_for.",
        ),
    ],
)
def test_bad_input_is_a_clear_400_or_422_and_writes_nothing(api, components, ids, body, status, message):
    body = json.loads(json.dumps(body).replace("__web__", ids["web"]))
    response = api.post(f"{BASE}/incidents", body)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]
    assert not Incident.objects.exists() and not Maintenance.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/incidents?q=a%00b",
        f"{BASE}/subscribers?q=a%00b",
        f"{BASE}/incidents/a%00b",
        f"{BASE}/components/a%00b",
        f"{BASE}/subscribers/wh_a%00b",
        f"{BASE}/incidents/a%00b.json",
    ],
)
def test_a_nul_character_in_the_path_or_query_is_a_400_and_audited(api, components, path):
    """PostgreSQL refuses NUL in text (the lookup and the audit row were a 500 there)."""
    response = api.get(path)
    assert response.status_code == 400, response.content
    assert response.json() == {"error": "NUL characters (%00) are not allowed in the path or the query string."}
    (event,) = AuditEvent.objects.filter(action="status.api.called")
    assert "\x00" not in event.details["path"] and event.details["status"] == 400


def test_a_nul_character_in_a_component_id_is_a_422(api, components):
    body = {"incident": {"name": "X", "components": {"a\x00b": "major_outage"}}}
    response = api.post(f"{BASE}/incidents", body)
    assert response.status_code == 422 and "NUL" in response.json()["error"]
    assert not Incident.objects.exists()


def test_malformed_json_is_a_400(api, components, client, key):
    response = client.post(
        f"{BASE}/incidents",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"OAuth {key.secret}"},
    )
    assert response.status_code == 400 and "JSON parse error" in response.json()["error"]


def test_a_group_status_cannot_be_set(api, components):
    response = api.patch(
        f"{BASE}/components/{components['platform'].public_id}", {"component": {"status": "major_outage"}}
    )
    assert response.status_code == 422 and "group" in response.json()["error"]


# --- Keys, scope, rate limit, audit ------------------------------------------------------------


def test_the_key_also_works_as_api_key_query_parameter(client, key, components):
    response = client.get(f"{BASE}/components", {"api_key": key.secret})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Authentication credentials were not provided."),
        ({"Authorization": "OAuth lvq_status_" + "x" * 32}, "The API key is not valid."),
        ({"Authorization": "OAuth nonsense"}, "The API key is not valid."),
        ({"Authorization": "OAuth "}, "The API key is not valid."),
    ],
)
def test_a_missing_or_unknown_key_is_401(client, components, headers, message):
    response = client.get(f"{BASE}/components", headers=headers)
    assert response.status_code == 401 and response.json() == {"error": message}
    assert response["WWW-Authenticate"].startswith("OAuth")


def test_a_revoked_key_is_401_and_the_refusal_is_audited(client, key, staff, components):
    assert services.status_api_key_revoke(key=key.key, actor=staff) is True
    assert services.status_api_key_revoke(key=key.key, actor=staff) is False
    response = client.get(f"{BASE}/components", headers={"Authorization": f"OAuth {key.secret}"})
    assert response.status_code == 401 and response.json() == {"error": "The API key was revoked."}
    call = AuditEvent.objects.filter(action="status.api.called").get()
    assert call.details["status"] == 401 and call.actor_label == key.key.audit_label


def test_customer_api_keys_and_sessions_are_refused(client, customer_account, customer, staff, components):
    secret = issue_key(customer_account).secret
    for headers in ({"X-Api-Key": secret}, {"Authorization": f"Bearer {secret}"}, {"Authorization": f"OAuth {secret}"}):
        response = client.get(f"{BASE}/components", headers=headers)
        assert response.status_code == 401, headers
    client.force_login(staff)  # even a staff session is not a key
    assert client.get(f"{BASE}/components").status_code == 401
    client.force_login(customer)
    assert (
        client.post(f"{BASE}/incidents", {"incident": {"name": "X"}}, content_type="application/json").status_code
        == 401
    )
    assert not Incident.objects.exists()


def test_a_read_key_reads_but_may_not_write(client, staff, components):
    read = services.status_api_key_create(name="Dashboard", scope="read", actor=staff)
    headers = {"Authorization": f"OAuth {read.secret}"}
    assert client.get(f"{BASE}/incidents", headers=headers).status_code == 200
    response = client.post(
        f"{BASE}/incidents", {"incident": {"name": "X"}}, content_type="application/json", headers=headers
    )
    assert response.status_code == 403 and "read" in response.json()["error"]
    assert not Incident.objects.exists()


def test_every_call_is_audited_with_the_key_and_last_use_is_recorded(api, key, components):
    before = AuditEvent.objects.filter(action="status.api.called").count()
    api.get(f"{BASE}/components")
    api.get(f"{BASE}/incidents/nope")
    api.post(f"{BASE}/incidents", {"incident": {"name": "Audited"}})
    calls = list(AuditEvent.objects.filter(action="status.api.called").order_by("seq")[before:])
    assert [(c.details["method"], c.details["path"], c.details["status"]) for c in calls] == [
        ("GET", f"{BASE}/components", 200),
        ("GET", f"{BASE}/incidents/nope", 404),
        ("POST", f"{BASE}/incidents", 201),
    ]
    assert {c.actor_label for c in calls} == {key.key.audit_label}
    assert {c.target_id for c in calls} == {str(key.key.pk)}
    key.key.refresh_from_db()
    assert key.key.last_used_at is not None


def test_the_rate_limit_answers_429_with_retry_after(api, settings, components):
    settings.LEVQOR_STATUS_API_RATE_LIMIT = 2
    assert api.get(f"{BASE}/components").status_code == 200
    assert api.get(f"{BASE}/components").status_code == 200
    response = api.get(f"{BASE}/components")
    assert response.status_code == 429 and "Rate limit" in response.json()["error"]
    assert int(response["Retry-After"]) >= 1


def test_keys_are_stored_hashed_and_shown_once(staff):
    issued = services.status_api_key_create(name="Ops script", scope="write", actor=staff)
    stored = StatusApiKey.objects.get()
    assert issued.secret.startswith("lvq_status_") and issued.secret.startswith(stored.prefix)
    assert issued.secret not in {stored.secret_hash, stored.prefix}
    assert stored.created_by == staff
    assert AuditEvent.objects.filter(action="status.api_key.created", target_id=str(stored.pk)).exists()


def test_the_command_prints_a_key_once(capsys, db):
    call_command("status_api_key", "Alerting", "--scope", "read")
    out = capsys.readouterr().out
    (secret,) = re.findall(r"lvq_status_\w{32}", out)
    key = StatusApiKey.objects.get()
    assert key.name == "Alerting" and key.scope == "read" and secret.startswith(key.prefix)
    assert services.history.selectors.status_api_key_for_secret(secret) == key


def test_the_command_refuses_an_unknown_scope(db):
    with pytest.raises(Exception, match="scope"):
        call_command("status_api_key", "X", "--scope", "admin")
    assert not StatusApiKey.objects.exists()


def test_staff_create_a_key_in_admin_and_see_it_once(staff_client):
    response = staff_client.post("/admin/status/statusapikey/add/", {"name": "Pager", "scope": "write"}, follow=True)
    assert response.status_code == 200
    key = StatusApiKey.objects.get()
    page = response.content.decode()
    (secret,) = re.findall(r"lvq_status_\w{32}", page)
    assert secret.startswith(key.prefix)
    listing = staff_client.get("/admin/status/statusapikey/").content.decode()
    assert key.prefix in listing and secret not in listing
    detail = staff_client.get(f"/admin/status/statusapikey/{key.pk}/change/").content.decode()
    assert secret not in detail
