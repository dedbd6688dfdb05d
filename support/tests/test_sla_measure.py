"""Measured downtime (status/sla.py) on known snapshots, incidents and maintenance."""

from datetime import UTC, datetime, timedelta

import pytest

from status import services as status_services
from status.models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentComponent,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
    Snapshot,
    State,
)
from status.sla import sla_measure

DAY = datetime(2026, 11, 10, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _slot(hour: int, minute: int) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def _down(slug: str, start: datetime, end: datetime) -> set[tuple[str, datetime]]:
    out, at = set(), start
    while at < end:
        out.add((slug, at))
        at += timedelta(minutes=5)
    return out


@pytest.fixture
def known_day(db):
    """One UTC day of 5-minute snapshots for every component:
    - web down 10:00–10:30 and database down 10:15–10:45 (critical: union 45 min);
    - workflows (not critical) down 12:00–13:00, declared as a major outage on an incident;
    - database down 02:00–03:00 inside a maintenance window (excluded);
    - an incident inside the web/database outage (10:05–10:40) counts once;
    - a partial outage of the cache 15:00–16:00 (reported, not counted)."""
    status_services.components_ensure()
    components = {c.slug: c for c in Component.objects.all()}
    down = _down("web", _slot(10, 0), _slot(10, 30)) | _down("database", _slot(10, 15), _slot(10, 45))
    down |= _down("workflows", _slot(12, 0), _slot(13, 0)) | _down("database", _slot(2, 0), _slot(3, 0))
    maintenance = {_slot(2, 0) + timedelta(minutes=5 * n) for n in range(12)}
    rows = []
    for slug in ("web", "database", "cache", "workflows"):
        for n in range(288):
            at = DAY + timedelta(minutes=5 * n)
            rows.append(
                Snapshot(
                    component=components[slug],
                    taken_at=at,
                    state=State.DOWN if (slug, at) in down else State.UP,
                    latency_ms=10,
                    in_maintenance=slug == "database" and at in maintenance,
                )
            )
    Snapshot.objects.bulk_create(rows)
    status_services.rollup_hours(start=DAY, end=DAY + timedelta(days=1))

    def incident(name, start, end, slug, status):
        item = Incident.objects.create(
            name=name,
            impact=Impact.MAJOR,
            status=IncidentStatus.RESOLVED,
            started_at=start,
            resolved_at=end,
            created_at=start,
            updated_at=end,
        )
        IncidentComponent.objects.create(incident=item, component=components[slug], status=status)
        return item

    incident("Workflows stopped", _slot(12, 0), _slot(13, 0), "workflows", ComponentStatus.MAJOR_OUTAGE)
    incident("Console unreachable", _slot(10, 5), _slot(10, 40), "web", ComponentStatus.MAJOR_OUTAGE)
    incident("Slow cache", _slot(15, 0), _slot(16, 0), "cache", ComponentStatus.PARTIAL_OUTAGE)
    window = Maintenance.objects.create(
        name="Database upgrade",
        body="Upgrade.",
        status=MaintenanceStatus.COMPLETED,
        scheduled_for=_slot(2, 0),
        scheduled_until=_slot(3, 0),
        started_at=_slot(2, 0),
        completed_at=_slot(3, 0),
        created_at=_slot(2, 0) - timedelta(days=3),  # announced 48 hours ahead, as /sla requires
        updated_at=_slot(3, 0),
    )
    window.components.add(components["database"])
    # A declared outage inside the maintenance window is not downtime either.
    incident("During maintenance", _slot(2, 10), _slot(2, 40), "database", ComponentStatus.MAJOR_OUTAGE)
    return components


def test_it_measures_a_day_from_the_raw_snapshots_exactly(known_day):
    measured = sla_measure(start=DAY, end=DAY + timedelta(days=1), now=NOW)

    assert measured.resolution == "snapshots"
    assert measured.components == ["web", "database", "cache", "workflows"]  # /sla counts workflow processing
    assert measured.period_seconds == 86_400
    assert measured.maintenance_seconds == 3_600
    assert measured.probe_downtime_seconds == 45 * 60 + 60 * 60  # web ∪ database 10:00–10:45, workflows 12–13
    assert measured.incident_downtime_seconds == 60 * 60 + 35 * 60  # workflows + console (maintenance one removed)
    assert measured.downtime_seconds == 45 * 60 + 60 * 60  # the console incident lies inside the probe outage
    assert measured.partial_outage_seconds == 3_600
    assert measured.observed_seconds == 86_400 - 3_600
    assert measured.uptime_percent == pytest.approx(100 * (82_800 - 6_300) / 82_800)
    assert {i["name"] for i in measured.incidents} >= {"Workflows stopped", "Console unreachable", "Slow cache"}


def test_it_measures_from_hourly_rollups_once_raw_snapshots_are_gone(known_day, settings):
    settings.LEVQOR_STATUS_RAW_RETENTION_DAYS = 2
    measured = sla_measure(start=DAY, end=DAY + timedelta(days=1), now=NOW)

    assert measured.resolution == "hourly"
    # Rollups hold per-component sums: in hour 10 the longer of web (30 min)
    # and database (30 min) counts, a lower bound of their 45-minute union;
    # workflows were down all of hour 12.
    assert measured.probe_downtime_seconds == 30 * 60 + 60 * 60
    assert measured.downtime_seconds == 30 * 60 + 60 * 60 + 5 * 60  # the incident runs to 10:40 in hour 10
    assert measured.maintenance_seconds == 3_600


def test_it_measures_a_whole_month_and_counts_unmeasured_time_as_available(known_day):
    measured = sla_measure(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC), now=NOW)

    # The month is measured up to now; only the known day has snapshots.
    assert measured.end == NOW
    assert measured.downtime_seconds == 45 * 60 + 60 * 60
    assert measured.observed_seconds == 86_400 - 3_600
    assert 99.5 < measured.uptime_percent < 99.9


def test_it_reports_full_availability_when_nothing_happened(db):
    status_services.components_ensure()
    measured = sla_measure(start=DAY, end=DAY + timedelta(days=1), now=NOW)
    assert measured.downtime_seconds == 0
    assert measured.uptime_percent == 100.0
