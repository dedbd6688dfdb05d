import re
import xml.etree.ElementTree as ET
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from status import cache_keys, services
from status.models import (
    Component,
    ComponentStatus,
    DailyRollup,
    Impact,
    IncidentStatus,
    State,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(components, stub_probes):
    services.heartbeat_beat()
    services.snapshot_take()
    services.rollup_recent()
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    DailyRollup.objects.create(
        component=components["web"],
        day=yesterday,
        observed_seconds=86400,
        available_seconds=86400 - 1800,
        downtime_seconds=1800,
    )
    return components


def test_it_shows_every_component_with_90_daily_bars_and_its_uptime(client, history):
    page = client.get("/status").content.decode()

    assert "All systems operational" in page
    for component in Component.objects.filter(is_group=False):
        block = page.split(f'data-component="{component.slug}"')[1].split('class="bar-legend')[0]
        assert block.count('<rect class="bar"') == 90
        assert component.name in block
    web = page.split('data-component="web"')[1].split('data-component="database"')[0]
    # (86400 s observed yesterday with 1800 s down, plus today's one 5-minute snapshot up)
    assert '<span class="uptime-90">97.92% uptime</span>' in web
    yesterday = (timezone.now().astimezone(UTC).date() - timedelta(days=1)).strftime("%-d %b %Y")
    assert f"<title>{yesterday}: 97.92% uptime, 30 min down</title>" in page
    assert "no data</title>" in page


def test_it_draws_24_hour_and_7_day_charts_as_svg_without_javascript(client, history):
    page = client.get("/status").content.decode()
    assert 'class="chart" data-window="24h"' in page and 'class="chart" data-window="7d"' in page
    assert page.count('<polyline class="latency"') + page.count("<circle") >= 1
    assert "<script" not in page


def test_it_says_when_it_was_updated_and_in_which_time_zone(client, history):
    page = client.get("/status").content.decode()
    assert re.search(r"Last updated <time datetime=\"[^\"]+\">\d+ \w+ \d{4}, \d\d:\d\d:\d\d (GMT|BST)</time>", page)
    assert "(Europe/London)" in page


def test_it_links_the_sla_continuity_feeds_and_is_in_the_footer(client, history):
    page = client.get("/status").content.decode()
    assert 'href="/sla"' in page and 'href="/business-continuity"' in page
    assert '<link rel="alternate" type="application/rss+xml"' in page
    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert 'href="/status"' in client.get("/pricing").content.decode()


@pytest.mark.parametrize(
    ("probe_state", "impact", "banner"),
    [
        (State.UP, None, "All systems operational"),
        (State.DEGRADED, None, "Degraded"),
        (State.DOWN, None, "Outage"),
        (State.UP, Impact.MAJOR, "Outage"),
    ],
)
def test_the_overall_banner_follows_components_and_incidents(client, history, staff, probe_state, impact, banner):
    Component.objects.filter(slug="web").update(state=probe_state)
    if impact:
        services.incident_create(name="Trouble", impact=impact, body="x", notify=False, actor=staff)
    page = client.get("/status").content.decode()
    assert f'<p class="overall-banner">{banner}</p>' in page


def test_the_banner_says_maintenance_during_a_maintenance(client, history, staff):
    now = timezone.now()
    services.maintenance_create(
        name="Upgrade",
        body="b",
        scheduled_for=now - timedelta(minutes=1),
        scheduled_until=now + timedelta(hours=1),
        components=[history["database"]],
        actor=staff,
    )
    services.maintenance_advance(now=now)
    page = client.get("/status").content.decode()
    assert '<p class="overall-banner">Maintenance</p>' in page and "Under maintenance" in page


def test_it_lists_active_and_recent_incidents_with_updates_and_upcoming_maintenance(client, history, staff):
    now = timezone.now()
    active = services.incident_create(
        name="Runs delayed",
        impact=Impact.MINOR,
        body="Looking.",
        components=[(history["workflows"], ComponentStatus.DEGRADED_PERFORMANCE)],
        notify=False,
        actor=staff,
    )
    services.incident_update(incident=active, status=IncidentStatus.IDENTIFIED, body="Found the cause.", actor=staff)
    old = services.incident_create(
        name="Email slow", impact=Impact.MINOR, body="Slow.", at=now - timedelta(days=2), notify=False, actor=staff
    )
    services.incident_update(
        incident=old, status=IncidentStatus.RESOLVED, body="Fast again.", at=now - timedelta(days=2), actor=staff
    )
    services.maintenance_create(
        name="Queue upgrade",
        body="Pause.",
        scheduled_for=now + timedelta(days=3),
        scheduled_until=now + timedelta(days=3, hours=1),
        actor=staff,
    )
    page = client.get("/status").content.decode()
    active_part = page.split('id="active-heading"')[1].split("</section>")[0]
    assert "Runs delayed" in active_part and "Found the cause." in active_part and "Looking." in active_part
    recent = page.split('id="recent-heading"')[1]
    assert "Email slow" in recent and "Fast again." in recent
    assert "Queue upgrade" in page.split('id="upcoming-heading"')[1]
    detail = client.get(f"/status/incidents/{active.public_id}")
    assert detail.status_code == 200 and "Found the cause." in detail.content.decode()
    assert client.get("/status/incidents/nosuchthing0").status_code == 404


def test_rss_and_atom_feeds_list_incidents(client, history, staff):
    incident = services.incident_create(
        name="API errors", impact=Impact.MAJOR, body="Errors.", notify=False, actor=staff
    )
    rss = ET.fromstring(client.get("/status/feed.rss").content)  # noqa: S314 - our own output
    atom = ET.fromstring(client.get("/status/feed.atom").content)  # noqa: S314
    item = rss.find("channel/item")
    assert item.find("title").text == "API errors (Investigating)"
    assert item.find("link").text.endswith(f"/status/incidents/{incident.public_id}")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert atom.find("a:entry/a:title", ns).text == "API errors (Investigating)"


def test_a_component_shown_only_when_degraded_hides_while_operational(client, history):
    Component.objects.filter(slug="cache").update(only_show_if_degraded=True)
    assert 'data-component="cache"' not in client.get("/status").content.decode()
    Component.objects.filter(slug="cache").update(state=State.DEGRADED)
    cache_keys.forget_results()  # as the snapshot that stores a probe result does
    assert 'data-component="cache"' in client.get("/status").content.decode()
