"""The SLA measurement does what /sla says: maintenance excuses only the
components it names, only when announced 48 hours ahead; workflows count."""

from datetime import UTC, datetime, timedelta

import pytest

from status import services
from status.models import ComponentStatus, Impact, IncidentStatus, Snapshot, State
from status.sla import sla_measure

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 11, 10, tzinfo=UTC)
NOW = datetime(2026, 11, 12, 12, 0, tzinfo=UTC)
OUTAGE = (DAY + timedelta(hours=10), DAY + timedelta(hours=11))


def _declared_outage(components, slug, actor):
    return services.incident_create(
        name=f"{slug} down",
        impact=Impact.MAJOR,
        body="Down.",
        components=[(components[slug], ComponentStatus.MAJOR_OUTAGE)],
        started_at=OUTAGE[0],
        at=OUTAGE[0],
        notify=False,
        actor=actor,
    )


def _resolve(incident, actor):
    services.incident_update(
        incident=incident, status=IncidentStatus.RESOLVED, body="Fixed.", at=OUTAGE[1], actor=actor
    )


def _maintenance(components, slugs, *, announced_at, actor):
    maintenance = services.maintenance_create(
        name="Planned work",
        body="Work.",
        scheduled_for=OUTAGE[0],
        scheduled_until=OUTAGE[1],
        components=[components[s] for s in slugs],
        at=announced_at,
        actor=actor,
    )
    services.maintenance_advance(now=OUTAGE[0])
    services.maintenance_advance(now=OUTAGE[1])
    return maintenance


def _measure():
    return sla_measure(start=DAY, end=DAY + timedelta(days=1), now=NOW)


def test_it_keeps_a_web_outage_when_maintenance_names_only_email_and_was_made_late(components, staff):
    _resolve(_declared_outage(components, "web", staff), staff)
    # Created "now" for an hour in the past: neither the right component nor announced.
    _maintenance(components, ["email"], announced_at=NOW, actor=staff)

    measured = _measure()

    assert measured.downtime_seconds == 3600
    assert measured.maintenance_seconds == 0
    assert measured.uptime_percent == pytest.approx(100 * (86400 - 3600) / 86400)


def test_it_keeps_downtime_under_maintenance_announced_less_than_48_hours_ahead(components, staff):
    _resolve(_declared_outage(components, "web", staff), staff)
    _maintenance(components, ["web"], announced_at=OUTAGE[0] - timedelta(hours=47), actor=staff)

    assert _measure().downtime_seconds == 3600


def test_it_excuses_downtime_under_maintenance_announced_48_hours_ahead_on_that_component(components, staff):
    _resolve(_declared_outage(components, "web", staff), staff)
    _maintenance(components, ["web"], announced_at=OUTAGE[0] - timedelta(hours=48), actor=staff)

    measured = _measure()

    assert measured.downtime_seconds == 0
    assert measured.maintenance_seconds == 3600


def test_it_counts_web_probe_downtime_during_database_maintenance(components, staff):
    _maintenance(components, ["database"], announced_at=OUTAGE[0] - timedelta(days=3), actor=staff)
    rows = []
    for n in range(288):
        at = DAY + timedelta(minutes=5 * n)
        inside = OUTAGE[0] <= at < OUTAGE[1]
        for slug in ("web", "database"):
            down = inside and (slug == "database" or at < OUTAGE[0] + timedelta(minutes=20))
            rows.append(Snapshot(component=components[slug], taken_at=at, state=State.DOWN if down else State.UP))
    Snapshot.objects.bulk_create(rows)

    measured = _measure()

    assert measured.downtime_seconds == 20 * 60  # the web's 20 minutes; the database's hour is excused
    assert measured.maintenance_seconds == 40 * 60
    assert measured.observed_seconds == 86400 - 40 * 60


def test_it_measures_workflows_as_the_sla_page_counts_them(components, staff):
    assert "workflows" in _measure().components
    _resolve(_declared_outage(components, "workflows", staff), staff)
    Snapshot.objects.bulk_create(
        [
            Snapshot(component=components["workflows"], taken_at=OUTAGE[0] + timedelta(minutes=5 * n), state=State.DOWN)
            for n in range(12)
        ]
    )

    measured = _measure()

    assert measured.downtime_seconds == 3600
    assert measured.probe_downtime_seconds == 3600


def test_it_leaves_out_draft_incidents_nobody_published(components, staff):
    services.incident_create(
        name="Draft",
        impact=Impact.MAJOR,
        body="x",
        components=[(components["web"], ComponentStatus.MAJOR_OUTAGE)],
        started_at=OUTAGE[0],
        at=OUTAGE[0],
        draft=True,
        actor=None,
    )
    assert _measure().downtime_seconds == 0
