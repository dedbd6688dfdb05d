"""/status and /api/v2 from the shared cache: changes show at once, every
visitor gets a working form of their own, nobody sees anyone else's page."""

import gzip
import re
import threading
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from status import probes, services
from status.models import ComponentStatus, Impact, IncidentStatus, State

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def history(components, stub_probes):
    services.heartbeat_beat()
    services.snapshot_take()
    return components


def _page(client: Client, **headers) -> str:
    response = client.get("/status", headers=headers)
    assert response.status_code == 200
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode()


def test_it_shows_a_published_incident_at_once(client, history, staff, django_capture_on_commit_callbacks):
    assert "Payments failing" not in _page(client)  # the page is now cached
    assert "Payments failing" not in client.get("/api/v2/summary.json").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_create(
            name="Payments failing",
            impact=Impact.MAJOR,
            body="Card payments fail.",
            components=[(history["stripe"], ComponentStatus.MAJOR_OUTAGE)],
            notify=False,
            draft=True,
            actor=staff,
        )
    assert "Payments failing" not in _page(client)  # a draft is for staff only
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_publish(incident=incident, actor=staff)
    assert "Payments failing" in _page(client)
    summary = client.get("/api/v2/summary.json").json()
    assert [i["name"] for i in summary["incidents"]] == ["Payments failing"]

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="Fixed.", actor=staff)
    assert client.get("/api/v2/summary.json").json()["incidents"] == []
    assert "All systems operational" in _page(client)


def test_it_shows_new_probe_results_at_once(client, history, stub_probes, django_capture_on_commit_callbacks):
    assert "All systems operational" in _page(client)
    stub_probes["database"] = probes.Result(State.DOWN, None, "connection refused")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.snapshot_take(now=timezone.now() + timedelta(minutes=5))  # the next bucket
    assert "All systems operational" not in _page(client)
    assert client.get("/api/v2/status.json").json()["status"]["indicator"] != "none"


def test_it_serves_anonymous_visitors_a_shared_gzip_copy_without_queries(client, history):
    first = client.get("/status", headers={"Accept-Encoding": "gzip, br"})
    assert first["Content-Encoding"] == "gzip"
    assert len(first.content) <= 100_000
    assert "Accept-Encoding" in first["Vary"] and "Cookie" in first["Vary"]
    fresh = Client()
    with CaptureQueriesContext(connection) as queries:
        second = fresh.get("/status", headers={"Accept-Encoding": "gzip"})
    assert len(queries) == 0
    one, two = gzip.decompress(first.content).decode(), gzip.decompress(second.content).decode()
    assert TOKEN.sub("", one) == TOKEN.sub("", two)
    assert "All systems operational" in two
    plain = Client().get("/status")  # a client that does not take gzip gets the same page plainly
    assert "Content-Encoding" not in plain and TOKEN.sub("", plain.content.decode()) == TOKEN.sub("", one)


def test_each_visitor_gets_a_csrf_token_that_works_for_them(history):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tokens = []
    for visitor in (first, second):
        page = _page(visitor, **{"Accept-Encoding": "gzip"})
        found = set(TOKEN.findall(page))
        assert len(found) == 1  # the cookie banner's form and the subscribe form carry the same one
        tokens.append(found.pop())
        assert "csrftoken" in visitor.cookies
    assert tokens[0] != tokens[1]
    response = second.post("/status/subscribe", {"email": "visitor@example.test", "csrfmiddlewaretoken": tokens[1]})
    assert response.status_code == 200
    refused = first.post("/status/subscribe", {"email": "visitor@example.test", "csrfmiddlewaretoken": "x" * 64})
    assert refused.status_code == 403


def test_a_signed_in_visitors_page_is_theirs_alone(client, customer_client, history):
    anonymous = Client()
    assert "Sign in" in _page(anonymous)
    signed_in = _page(customer_client)
    assert "Sign out" in signed_in
    page = _page(Client())
    assert "Sign out" not in page and "Sign in" in page


def test_a_visitor_who_chose_cookies_gets_the_page_without_the_banner(history):
    visitor = Client()
    assert 'id="cookie-banner"' in _page(visitor)
    response = visitor.post("/cookies/consent", {"choice": "reject_all", "next": "/status"})
    assert response.status_code in (302, 303)
    assert 'id="cookie-banner"' not in _page(visitor)
    assert 'id="cookie-banner"' in _page(Client())


@pytest.fixture
def slow_render(monkeypatch):
    """/status's render replaced by one that waits for `release` (and counts
    its calls), so a test can hold a render in flight; the copy kept for
    the current generation runs out as soon as another process changes it
    (this process trusts its own copy for no time at all)."""
    from django.http import HttpResponse

    from status import cache_keys, views

    monkeypatch.setattr(cache_keys, "LOCAL_TRUST_SECONDS", 0)
    state = SimpleNamespace(calls=0, started=threading.Event(), release=threading.Event())

    def render(request):
        state.calls += 1
        state.started.set()
        state.release.wait(10)
        return HttpResponse("<h1>The next copy</h1>"), False

    state.install = lambda: monkeypatch.setattr(views, "_render_status_page", render)
    state.change_elsewhere = lambda: cache.set(cache_keys.GENERATION, uuid.uuid4().hex, None)
    yield state
    state.release.set()


def _page_in_a_thread(results: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.append(_page(Client())))
    thread.start()
    return thread


@pytest.mark.realtime
def test_while_one_visitor_renders_the_next_copy_the_others_get_the_previous_one(history, slow_render):
    before = TOKEN.sub("", _page(Client()))  # rendered for real and kept
    slow_render.install()
    slow_render.change_elsewhere()
    rendered = []
    renderer = _page_in_a_thread(rendered)
    assert slow_render.started.wait(10)

    served = [TOKEN.sub("", _page(Client())) for _ in range(3)]  # answered at once, not waiting for it

    assert served == [before] * 3
    assert slow_render.calls == 1
    slow_render.release.set()
    renderer.join(10)
    assert "The next copy" in rendered[0]
    assert "The next copy" in _page(Client())  # kept for everyone after
    assert slow_render.calls == 1


@pytest.mark.realtime
def test_a_process_with_no_copy_yet_waits_for_the_render_in_flight_instead_of_rendering_again(history, slow_render):
    from status import cache_keys

    slow_render.install()
    slow_render.change_elsewhere()
    cache_keys.forget_local()  # as a process that has just started
    first, second = [], []
    renderer = _page_in_a_thread(first)
    assert slow_render.started.wait(10)
    waiter = _page_in_a_thread(second)
    waiter.join(0.3)
    assert waiter.is_alive()  # nothing to show yet: it waits for the render

    slow_render.release.set()
    renderer.join(10)
    waiter.join(10)
    assert "The next copy" in first[0] and "The next copy" in second[0]
    assert slow_render.calls == 1
