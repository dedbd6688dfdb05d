import socket
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from status import api, services
from status.cache_keys import RENDERED
from status.models import Component, State

pytestmark = pytest.mark.django_db

URL = "/api/status/health"
HEALTH_JSON = "application/health+json"


@pytest.fixture
def healthy(components, stub_probes):
    services.heartbeat_beat()
    services.snapshot_take()
    return components


def test_it_answers_200_with_every_component_in_the_simple_format(client, healthy):
    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"ok", "timestamp", "components"}
    assert body["ok"] is True and body["timestamp"].endswith("Z")
    assert set(body["components"]) == {"web", "database", "cache", "queue", "stripe", "email", "workflows"}
    for value in body["components"].values():
        assert set(value) == {"ok", "status", "latencyMs"}
        assert value["status"] in {"up", "degraded", "down"}
    assert body["components"]["web"] == {"ok": True, "status": "up", "latencyMs": 40}


def test_it_answers_the_ietf_health_json_format_when_asked(client, healthy):
    response = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)

    assert response.status_code == 200
    assert response["Content-Type"] == HEALTH_JSON
    body = response.json()
    assert body["status"] == "pass"
    assert set(body) <= {
        "status",
        "version",
        "releaseId",
        "notes",
        "output",
        "checks",
        "links",
        "serviceId",
        "description",
    }
    assert "queue:heartbeatAge" in body["checks"]
    web = body["checks"]["web:responseTime"]
    assert isinstance(web, list) and len(web) == 1
    assert {"componentId", "componentType", "observedValue", "observedUnit", "status", "time"} <= set(web[0])
    assert (web[0]["observedValue"], web[0]["observedUnit"], web[0]["status"]) == (40, "ms", "pass")
    for key, checks in body["checks"].items():
        assert ":" in key and checks[0]["status"] in {"pass", "warn", "fail"}


def test_it_answers_503_when_a_critical_component_is_down(client, healthy, stub_probes):
    stub_probes["database"] = stub_probes["database"].__class__(State.DOWN, None, "check failed (OperationalError)")
    services.snapshot_take(now=timezone.now() + timedelta(minutes=5))

    simple = client.get(URL)
    ietf = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)

    assert simple.status_code == ietf.status_code == 503
    assert simple.json()["ok"] is False
    assert simple.json()["components"]["database"] == {"ok": False, "status": "down", "latencyMs": None}
    assert ietf.json()["status"] == "fail"
    assert ietf.json()["checks"]["database:responseTime"][0]["status"] == "fail"
    assert "database" in ietf.json()["output"]


def test_it_answers_503_when_any_component_is_down_critical_or_not(client, healthy):
    services.stripe_contact_record(ok=False, latency_ms=900, error="api_connection_error")
    services.snapshot_take(now=timezone.now() + timedelta(minutes=5))

    simple = client.get(URL)
    ietf = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)
    status = client.get("/api/v2/status.json").json()["status"]

    assert simple.status_code == ietf.status_code == 503
    assert simple.json()["ok"] is False
    assert simple.json()["components"]["stripe"] == {"ok": False, "status": "down", "latencyMs": 900}
    assert ietf.json()["status"] == "fail" and "stripe major_outage" in ietf.json()["output"]
    assert status["indicator"] == "major"


def test_a_degraded_component_warns_but_answers_200(client, healthy):
    services.stripe_contact_record(ok=True, latency_ms=2500)
    services.snapshot_take(now=timezone.now() + timedelta(minutes=5))

    simple = client.get(URL)
    ietf = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)

    assert simple.status_code == ietf.status_code == 200
    assert simple.json()["ok"] is True
    assert simple.json()["components"]["stripe"] == {"ok": True, "status": "degraded", "latencyMs": 2500}
    assert ietf.json()["status"] == "warn"
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] == "minor"


def test_the_queue_goes_down_when_heartbeats_stop_even_without_new_snapshots(client, healthy, settings):
    settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS = 0
    Component.objects.filter(slug="queue").update(critical=True)
    from status.models import Heartbeat

    Heartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=4))

    response = client.get(URL)

    assert response.status_code == 503
    assert response.json()["components"]["queue"]["status"] == "down"


def test_it_never_shows_secrets_or_stack_traces(client, healthy):
    Component.objects.filter(slug="cache").update(
        state=State.DOWN, note="Traceback (most recent call last): password=hunter2"
    )
    services.stripe_contact_record(ok=False, error="sk_live_secret")
    simple = client.get(URL).content.decode()
    ietf = client.get(URL, HTTP_ACCEPT=HEALTH_JSON).content.decode()
    for body in (simple, ietf):
        for secret in ("hunter2", "Traceback", "sk_live", "SECRET_KEY", "postgres://"):
            assert secret not in body


def test_it_reads_only_the_cache_while_the_copy_is_fresh(client, healthy, django_assert_num_queries):
    client.get(URL)
    with django_assert_num_queries(0):
        assert client.get(URL).status_code == 200


def test_an_unknown_accept_header_still_gets_json(client, healthy):
    response = client.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response.json()["ok"] is True


def test_it_keeps_answering_from_the_last_good_copy_when_the_database_fails(client, healthy, settings):
    settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS = 0
    client.get(URL)  # leaves a last good copy

    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection to server at 10.0.0.5 failed: password authentication failed")

    started = time.monotonic()
    with connection.execute_wrapper(refuse):
        response = client.get(URL)
    assert time.monotonic() - started < 1

    body = response.json()
    assert response.status_code == 503  # the database is critical and unreachable
    assert body["components"]["database"]["status"] == "down"
    assert body["components"]["web"]["status"] == "up"  # from the last good copy
    assert "10.0.0.5" not in response.content.decode() and "password" not in response.content.decode()


def test_it_keeps_answering_when_stripe_is_unreachable(client, healthy, monkeypatch, settings):
    import stripe

    settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS = 0
    monkeypatch.setattr(stripe, "api_base", "http://10.255.255.1:9")  # a black hole
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"the health endpoint tried to reach {address}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    services.stripe_contact_record(ok=False, latency_ms=2000, error="api_connection_error")
    Component.objects.filter(slug="stripe").update(state=State.DOWN)

    response = client.get(URL)  # the guard above fails the test if it tries to reach Stripe

    assert response.status_code == 503  # Stripe down is an outage, answered from the stored result
    assert response.json()["components"]["stripe"]["status"] == "down"


@pytest.mark.django_db(transaction=True)
def test_it_keeps_answering_when_postgresql_is_slow(client, components, stub_probes, settings):
    """A real lock on PostgreSQL: the endpoint gives up on the database
    after LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS and answers from the last good copy."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (a real table lock and statement timeout)")
    import psycopg

    services.heartbeat_beat()
    services.snapshot_take()
    settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS = 0
    settings.LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS = 300
    assert client.get(URL).status_code == 200  # leaves a last good copy

    db = connection.settings_dict
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
        ) as other:
            with other.transaction():
                other.execute("LOCK TABLE status_component IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(5)
        started = time.monotonic()
        response = client.get(URL)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()

    assert elapsed < 1.5
    body = response.json()
    assert body["components"]["database"]["status"] == "degraded"
    assert body["components"]["web"] == {"ok": True, "status": "up", "latencyMs": 40}
    assert response.status_code == 200


def test_it_is_in_the_openapi_document_as_a_public_endpoint(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    health = schema["paths"]["/api/status/health"]["get"]
    assert set(health["responses"]) == {"200", "503", "400", "500"}  # 400: an unknown ?format=
    assert set(health["responses"]["200"]["content"]) == {"application/json", HEALTH_JSON}
    assert health.get("security") in ([], [{}], None)
    for path in (
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
    ):
        assert "200" in schema["paths"][path]["get"]["responses"], path


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/health+json", HEALTH_JSON),
        ("application/health+json, text/html;q=0.9", HEALTH_JSON),
        ("text/html, */*;q=0.8", "application/json"),
    ],
)
def test_it_negotiates_the_format_from_accept(client, healthy, accept, media_type):
    response = client.get(URL, HTTP_ACCEPT=accept) if accept else client.get(URL)
    assert response["Content-Type"] == media_type


def test_the_format_query_parameter_chooses_too(client, healthy):
    assert client.get(URL, {"format": "health+json"})["Content-Type"] == HEALTH_JSON
    assert client.get(URL, {"format": "json"}, HTTP_ACCEPT=HEALTH_JSON)["Content-Type"] == "application/json"


def test_before_any_probe_has_run_it_says_so_with_503(client, db):
    response = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)
    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert response.json()["output"] == "no component results stored yet"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/json, application/health+json", HEALTH_JSON),
        ("application/health+json, application/json", HEALTH_JSON),
        ("application/health+json;q=0.5, application/json", "application/json"),
        ("application/json;q=0.4, application/health+json;q=0.9", HEALTH_JSON),
        ("application/health+json;q=0.5, */*", "application/json"),
        ("application/health+json, */*;q=0.1", HEALTH_JSON),
        ("application/health+json;q=0", "application/json"),
        ("*/*", "application/json"),
    ],
)
def test_it_negotiates_the_health_format_the_same_way_every_time(client, healthy, accept, media_type):
    for _ in range(5):
        assert client.get(URL, HTTP_ACCEPT=accept)["Content-Type"] == media_type


def test_a_declared_major_outage_answers_503_everywhere_at_once(client, healthy, staff):
    from status.models import ComponentStatus, Impact

    services.incident_create(
        name="Console unreachable",
        impact=Impact.CRITICAL,
        body="Down.",
        components=[(healthy["web"], ComponentStatus.MAJOR_OUTAGE)],
        notify=False,
        actor=staff,
    )

    simple = client.get(URL)
    ietf = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)
    status = client.get("/api/v2/status.json").json()["status"]
    components = {c["name"]: c["status"] for c in client.get("/api/v2/components.json").json()["components"]}
    page = client.get("/status").content.decode()

    assert simple.status_code == ietf.status_code == 503
    assert simple.json()["ok"] is False and simple.json()["components"]["web"]["status"] == "down"
    assert ietf.json()["status"] == "fail"
    assert status["indicator"] == "critical"
    assert components["Web/API"] == "major_outage"
    assert 'data-indicator="critical"' in page and "Ongoing incident: Console unreachable" in page


def test_a_declared_minor_degradation_warns_with_200(client, healthy, staff):
    from status.models import ComponentStatus, Impact

    services.incident_create(
        name="Slow emails",
        impact=Impact.MINOR,
        body="Slow.",
        components=[(healthy["email"], ComponentStatus.DEGRADED_PERFORMANCE)],
        notify=False,
        actor=staff,
    )

    assert client.get(URL).status_code == 200
    ietf = client.get(URL, HTTP_ACCEPT=HEALTH_JSON)
    assert ietf.status_code == 200 and ietf.json()["status"] == "warn"
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] == "minor"


def test_a_declared_partial_outage_answers_503(client, healthy, staff):
    from status.models import ComponentStatus, Impact

    services.incident_create(
        name="Some workflows stuck",
        impact=Impact.MINOR,
        body="Stuck.",
        components=[(healthy["workflows"], ComponentStatus.PARTIAL_OUTAGE)],
        notify=False,
        actor=staff,
    )

    response = client.get(URL)
    assert response.status_code == 503 and response.json()["components"]["workflows"]["ok"] is False
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] == "major"


@pytest.mark.parametrize(
    "accept",
    ["", "application/json", HEALTH_JSON, "application/json, application/health+json", "application/json;q=0.5, */*"],
)
@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("up", [True, False])
def test_the_plain_view_answers_exactly_as_drf_does(rf, components, stub_probes, accept, method, up):
    """The health check skips DRF's dispatch unless a query string asks DRF
    to decide (status.api._health_view): same status, body and headers."""
    if not up:
        stub_probes["database"] = stub_probes["database"].__class__(State.DOWN, None, "check failed")
    services.heartbeat_beat()
    services.snapshot_take()
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    plain = api.status_health(getattr(rf, method)(URL, **headers))
    for media_type, (_, status, body) in list(RENDERED.items()):
        RENDERED[media_type] = (float("inf"), status, body)  # the same document (it carries the time)
    drf = api.StatusHealthApi.as_view()(getattr(rf, method)(URL, **headers))

    assert plain.status_code == (200 if up else 503)
    assert (plain.status_code, plain.content, sorted(plain.items())) == (
        drf.status_code,
        drf.content,
        sorted(drf.items()),
    )


def test_a_format_parameter_is_still_drfs_to_decide(client, healthy):
    assert client.get(URL, {"format": "health+json"})["Content-Type"] == HEALTH_JSON
    unknown = client.get(URL, {"format": "xml"})
    assert unknown.status_code == 400 and "format" in unknown.json()["error"]["details"]["fields"]
