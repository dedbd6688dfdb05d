"""/status/badge.svg, /status/badge/<component>.svg and /status/embed:
what other sites show of our status, from the one evaluation."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from status import badges, cache_keys, services
from status.models import Component, ComponentStatus, Impact, State

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def live(components, stub_probes):
    services.heartbeat_beat()
    services.snapshot_take()
    return components


def parse(response) -> dict:
    root = ET.fromstring(response.content)  # noqa: S314 - our own output
    rects = root.findall(f"{SVG}g/{SVG}rect")
    texts = [t.text for t in root.iter(f"{SVG}text") if t.get("aria-hidden") is None]
    return {
        "width": int(root.get("width")),
        "label": texts[0],
        "message": texts[1],
        "colour": rects[1].get("fill"),
        "aria": root.get("aria-label"),
    }


def make(status: str, components, staff) -> None:
    """Bring the web component (and so the page) to `status` the way it happens."""
    if status == ComponentStatus.DEGRADED_PERFORMANCE:
        Component.objects.filter(slug="web").update(state=State.DEGRADED)
    elif status == ComponentStatus.PARTIAL_OUTAGE:
        services.incident_create(
            name="Some requests fail",
            impact=Impact.MINOR,
            body="b",
            components=[(components["web"], ComponentStatus.PARTIAL_OUTAGE)],
            notify=False,
            actor=staff,
        )
    elif status == ComponentStatus.MAJOR_OUTAGE:
        Component.objects.filter(slug="web").update(state=State.DOWN)  # critical: the page is critical
    elif status == ComponentStatus.UNDER_MAINTENANCE:
        now = timezone.now()
        services.maintenance_create(
            name="Upgrade",
            body="b",
            scheduled_for=now - timedelta(minutes=1),
            scheduled_until=now + timedelta(hours=1),
            components=[components["web"]],
            actor=staff,
        )
        services.maintenance_advance(now=now)
    cache_keys.forget_results()


CASES = [
    (ComponentStatus.OPERATIONAL, "operational", "#2ea44f"),
    (ComponentStatus.DEGRADED_PERFORMANCE, "degraded performance", "#b08800"),
    (ComponentStatus.PARTIAL_OUTAGE, "partial outage", "#d15704"),
    (ComponentStatus.MAJOR_OUTAGE, "major outage", "#cb2431"),
    (ComponentStatus.UNDER_MAINTENANCE, "under maintenance", "#0366d6"),
]


@pytest.mark.parametrize(("status", "message", "colour"), CASES)
def test_each_status_has_its_words_and_colour_on_the_overall_and_component_badges(
    client, live, staff, status, message, colour
):
    make(status, live, staff)

    overall = client.get("/status/badge.svg")
    web = client.get("/status/badge/web.svg")

    assert overall.status_code == 200 and web.status_code == 200
    assert parse(overall) | {"width": 0} == {
        "width": 0,
        "label": "status",
        "message": message,
        "colour": colour,
        "aria": f"status: {message}",
    }
    assert parse(web)["label"] == "Web/API" and parse(web)["message"] == message and parse(web)["colour"] == colour
    # The badge says what /api/v2 and /status say.
    assert client.get("/api/v2/components.json").json()["components"][0]["status"] == status
    indicator = client.get("/api/v2/status.json").json()["status"]["indicator"]
    assert badges.INDICATOR_STATUS[indicator] == status


def test_a_badge_is_as_wide_as_its_words_and_escapes_a_component_name(client, live):
    Component.objects.filter(slug="email").update(name='Mail <"&> delivery for every customer')
    cache_keys.forget_incidents()

    short = parse(client.get("/status/badge/cache.svg"))
    long = client.get("/status/badge/email.svg")

    assert b"Mail &lt;&quot;&amp;&gt; delivery" in long.content and b'<"&>' not in long.content
    assert parse(long)["label"] == 'Mail <"&> delivery for every customer'
    assert parse(long)["width"] > short["width"] + 150
    assert short["width"] == badges.text_width("Cache") + badges.text_width("operational") + 20


def test_a_component_badge_by_public_id_and_404s(client, live):
    stripe = live["stripe"]
    assert parse(client.get(f"/status/badge/{stripe.public_id}.svg"))["label"] == "Payments (Stripe)"
    assert client.get("/status/badge/nosuchthing.svg").status_code == 404
    Component.objects.filter(pk=stripe.pk).update(hidden=True)
    cache_keys.forget_incidents()
    assert client.get("/status/badge/stripe.svg").status_code == 404
    assert client.get(f"/status/badge/{stripe.public_id}.svg").status_code == 404


def test_badges_are_cacheable_svg_with_an_etag_and_set_no_cookie(client, live, staff):
    response = client.get("/status/badge.svg")

    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response.cookies and "Cookie" not in response.get("Vary", "")
    etag = response["ETag"]
    again = client.get("/status/badge.svg", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag

    make(ComponentStatus.MAJOR_OUTAGE, live, staff)
    changed = client.get("/status/badge.svg", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag and b"major outage" in changed.content
    assert client.post("/status/badge.svg").status_code == 405


def test_a_signed_in_visitor_gets_the_same_badge_without_a_cookie(client, live, customer, staff):
    from compliance import terms

    terms.terms_first_ensure(actor=staff)  # the published terms document
    client.force_login(customer)  # one who has not accepted the current terms yet
    assert client.get("/status").status_code == 302  # pages send them to accept the terms first
    response = client.get("/status/badge/web.svg")
    assert response.status_code == 200 and not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_the_embed_is_a_tiny_cookieless_page_any_site_may_frame(client, live, staff):
    services.incident_create(
        name="Slow <runs>", impact=Impact.MINOR, body="b", components=[], notify=False, actor=staff
    )
    response = client.get("/status/embed")
    page = response.content.decode()

    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "Minor Service Outage" in page and "Slow &lt;runs&gt;" in page
    assert 'href="http' in page and '/status"' in page and 'target="_blank" rel="noopener"' in page
    assert "<script" not in page and "csrfmiddlewaretoken" not in page and "cookie-banner" not in page
    assert '/static/status/embed.css"' in page and len(response.content) < 2000
    assert not response.cookies and "Set-Cookie" not in response.headers
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "public, max-age=60"
    assert client.get("/status/embed", headers={"if-none-match": response["ETag"]}).status_code == 304

    # Every other page still refuses to be framed.
    for path in ("/status", "/status/history", "/status/badge.svg", "/"):
        other = client.get(path)
        assert other["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in other["Content-Security-Policy"], path


def test_the_embed_sets_no_cookie_for_a_signed_in_visitor_either(client, live, customer):
    client.force_login(customer)
    response = client.get("/status/embed")
    assert response.status_code == 200 and not response.cookies
