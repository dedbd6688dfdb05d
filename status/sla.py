"""Measured availability of the service over a period, for SLA credit claims.

Read only: built from the raw 5-minute snapshots while they are kept
(LEVQOR_STATUS_RAW_RETENTION_DAYS), else the hourly rollups (daily ones once
the period is older than the hourly retention), the incidents staff declared
(published ones) and the maintenance windows. Nothing here probes or calls
an outside service. It measures what /sla (templates/pages/sla.html) says:

- *SLA components*: what /sla counts as "the service": the web application
  and the API (Web/API, and the Database and Cache they stand on) and
  workflow processing (Workflows), plus any component staff mark critical.
- *Downtime*: time in which any SLA component was down, by its probes (a
  5-minute snapshot `down`) or declared `major_outage` on a published
  incident, from its start to its resolution (or now). Partial outages and
  degraded performance are reported, not counted.
- *Planned maintenance* excuses a component's downtime only when the
  maintenance names that component, and only when it was announced (created,
  which shows it on /status and emails subscribers) at least 48 hours before
  it started. Maintenance on another component, or announced late, excuses
  nothing. Time inside such a maintenance in which nothing counts as down is
  the excluded time.
- From raw snapshots every instant is classified once: down, else excluded
  maintenance, else available. From rollups (per-component sums per hour or
  day, whose downtime already leaves out snapshots taken under announced
  maintenance of that component): per bucket, the largest downtime of any SLA
  component (a fair lower bound of the union) or the declared time, if larger.
- `uptime_percent = 100 × (period − maintenance − downtime) / (period −
  maintenance)`. Time no probe observed is not downtime (no evidence), but
  `observed_seconds` says how much of the period was measured.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import (
    SNAPSHOT_SECONDS,
    Component,
    ComponentStatus,
    DailyRollup,
    HourlyRollup,
    Incident,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    Probe,
    Snapshot,
    State,
)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class SlaMeasurement:
    start: datetime
    end: datetime
    resolution: str  # "snapshots" | "hourly" | "daily"
    period_seconds: int
    maintenance_seconds: int
    downtime_seconds: int
    probe_downtime_seconds: int
    incident_downtime_seconds: int
    partial_outage_seconds: int
    observed_seconds: int
    components: list[str] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)

    @property
    def eligible_seconds(self) -> int:
        return max(0, self.period_seconds - self.maintenance_seconds)

    @property
    def uptime_percent(self) -> float:
        if not self.eligible_seconds:
            return 100.0
        return 100.0 * max(0, self.eligible_seconds - self.downtime_seconds) / self.eligible_seconds

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "resolution": self.resolution,
            "period_seconds": self.period_seconds,
            "maintenance_seconds": self.maintenance_seconds,
            "downtime_seconds": self.downtime_seconds,
            "probe_downtime_seconds": self.probe_downtime_seconds,
            "incident_downtime_seconds": self.incident_downtime_seconds,
            "partial_outage_seconds": self.partial_outage_seconds,
            "observed_seconds": self.observed_seconds,
            "uptime_percent": round(self.uptime_percent, 4),
            "components": self.components,
            "incidents": self.incidents,
        }


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in intervals:
        pieces = [(a, b)]
        for h0, h1 in holes:
            next_pieces = []
            for p0, p1 in pieces:
                if h1 <= p0 or h0 >= p1:
                    next_pieces.append((p0, p1))
                    continue
                if p0 < h0:
                    next_pieces.append((p0, h0))
                if h1 < p1:
                    next_pieces.append((h1, p1))
            pieces = next_pieces
        out.extend(pieces)
    return out


def _overlap(intervals: list[Interval], a: datetime, b: datetime) -> int:
    return int(sum(max(0.0, (min(b, y) - max(a, x)).total_seconds()) for x, y in intervals))


# What /sla section 1 calls the service: the web application and the API
# (and what they stand on) and workflow processing.
SLA_PROBES = (Probe.WEB, Probe.DATABASE, Probe.CACHE, Probe.WORKFLOWS)


def sla_components() -> list[Component]:
    return list(
        Component.objects.filter(is_group=False)
        .filter(Q(probe__in=SLA_PROBES) | Q(critical=True))
        .order_by("position", "name")
    )


def maintenance_windows(*, start: datetime, end: datetime, now: datetime) -> dict[int, list[Interval]]:
    """Per component id: the windows of maintenance that names it, was
    announced 48 hours ahead, and ran (or runs) inside [start, end)."""
    rows = (
        Maintenance.objects.filter(
            status__in=(MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING, MaintenanceStatus.COMPLETED)
        )
        .filter(Q(started_at__lt=end) | Q(started_at__isnull=True, scheduled_for__lt=end))
        .prefetch_related("components")
    )
    windows: dict[int, list[Interval]] = {}
    for m in rows:
        if not m.announced_ahead:
            continue
        begin = m.started_at or m.scheduled_for
        finish = m.completed_at or (now if m.status != MaintenanceStatus.COMPLETED else m.scheduled_until)
        for component in m.components.all():
            windows.setdefault(component.pk, []).append((max(begin, start), min(finish, end)))
    return {pk: _merge(found) for pk, found in windows.items()}


def _incident_intervals(
    *, ids: list[int], start: datetime, end: datetime, now: datetime, status: str, excused: dict[int, list[Interval]]
) -> tuple[list, list[dict]]:
    """Declared time of `status` on the SLA components, less each one's own
    announced maintenance, merged; and the incidents involved."""
    affected = (
        IncidentComponent.objects.filter(
            status=status, component_id__in=ids, incident__started_at__lt=end, incident__draft=False
        )
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gt=start))
        .select_related("incident")
    )
    intervals, seen = [], {}
    for row in affected:
        incident: Incident = row.incident
        finish = incident.resolved_at or now
        span = [(max(incident.started_at, start), min(finish, end))]
        intervals += _subtract(span, excused.get(row.component_id, []))
        seen[incident.pk] = {"id": incident.public_id, "name": incident.name, "impact": incident.impact}
    return _merge(intervals), list(seen.values())


def _total(intervals: list[Interval]) -> int:
    return int(sum((b - a).total_seconds() for a, b in intervals))


def _slot(at: datetime) -> Interval:
    at = at.astimezone(UTC)
    return (at, at + timedelta(seconds=SNAPSHOT_SECONDS))


def _measure_raw(ids, start, end, windows, declared) -> tuple[int, int, int, int]:
    """(downtime, probe downtime, maintenance, observed) from raw snapshots:
    every instant classified once."""
    down_slots = Snapshot.objects.filter(
        component_id__in=ids, taken_at__gte=start, taken_at__lt=end, state=State.DOWN
    ).values_list("component_id", "taken_at")
    probe_down = _merge(
        [
            clipped
            for cid, at in down_slots
            for clipped in _subtract([_slot(at)], windows.get(cid, []))
            if clipped[1] > clipped[0]
        ]
    )
    probe_down = [(max(a, start), min(b, end)) for a, b in probe_down]
    down = _merge(probe_down + declared)
    planned = _subtract(_merge([w for found in windows.values() for w in found]), down)
    observed_slots = (
        Snapshot.objects.filter(component_id__in=ids, taken_at__gte=start, taken_at__lt=end)
        .values_list("taken_at", flat=True)
        .distinct()
        .order_by()
    )
    observed = _subtract(_merge([_slot(at) for at in observed_slots]), planned)
    observed = [(max(a, start), min(b, end)) for a, b in observed]
    return _total(down), _total(probe_down), _total(planned), _total(_merge(observed))


def _measure_rollups(ids, start, end, hourly, windows, declared) -> tuple[int, int, int, int]:
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    if hourly:
        rows = HourlyRollup.objects.filter(component_id__in=ids, hour__gte=start, hour__lt=end).values_list(
            "hour", "downtime_seconds", "observed_seconds"
        )
        keyed = ((h.astimezone(UTC), d, o) for h, d, o in rows)
    else:
        rows = DailyRollup.objects.filter(
            component_id__in=ids, day__gte=start.date(), day__lte=(end - timedelta(microseconds=1)).date()
        ).values_list("day", "downtime_seconds", "observed_seconds")
        keyed = ((datetime(d.year, d.month, d.day, tzinfo=UTC), dn, o) for d, dn, o in rows)
    buckets: dict[datetime, list[int]] = {}
    for key, down, observed in keyed:
        if key + step <= start or key >= end:
            continue
        bucket = buckets.setdefault(key, [0, 0])
        bucket[0], bucket[1] = max(bucket[0], down), max(bucket[1], observed)
    all_windows = _merge([w for found in windows.values() for w in found])
    downtime = probe_down = maintenance = observed = 0
    cursor = start
    while cursor < end:
        bucket_start = cursor if hourly else cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        bucket_end = min(bucket_start + step, end)
        row_down, row_observed = buckets.get(bucket_start, [0, 0])
        span = int((bucket_end - cursor).total_seconds())
        bucket_down = min(span, max(row_down, _overlap(declared, cursor, bucket_end)))
        planned = min(span - bucket_down, _overlap(all_windows, cursor, bucket_end))
        probe_down += row_down
        downtime += bucket_down
        maintenance += planned
        observed += min(span - planned, row_observed)
        cursor = bucket_end
    return downtime, probe_down, maintenance, observed


def sla_measure(*, start: datetime, end: datetime, now: datetime | None = None) -> SlaMeasurement:
    """Measured downtime and uptime % of the service in [start, end) (UTC,
    whole hours). A period reaching past `now` is measured up to now."""
    now = now or timezone.now()
    start = start.astimezone(UTC)
    end = min(end.astimezone(UTC), max(start, now.astimezone(UTC)))
    components = sla_components()
    ids = [c.pk for c in components]
    raw = start >= now - timedelta(days=settings.LEVQOR_STATUS_RAW_RETENTION_DAYS)
    hourly = start >= now - timedelta(days=settings.LEVQOR_STATUS_HOURLY_RETENTION_DAYS)
    windows = {pk: found for pk, found in maintenance_windows(start=start, end=end, now=now).items() if pk in ids}
    declared, incidents = _incident_intervals(
        ids=ids, start=start, end=end, now=now, status=ComponentStatus.MAJOR_OUTAGE, excused=windows
    )
    partial, partial_incidents = _incident_intervals(
        ids=ids, start=start, end=end, now=now, status=ComponentStatus.PARTIAL_OUTAGE, excused=windows
    )
    for item in partial_incidents:
        if item not in incidents:
            incidents.append({**item, "counted": False})
    if raw:
        downtime, probe_down, maintenance, observed = _measure_raw(ids, start, end, windows, declared)
    else:
        downtime, probe_down, maintenance, observed = _measure_rollups(ids, start, end, hourly, windows, declared)
    return SlaMeasurement(
        start=start,
        end=end,
        resolution="snapshots" if raw else ("hourly" if hourly else "daily"),
        period_seconds=int((end - start).total_seconds()),
        maintenance_seconds=maintenance,
        downtime_seconds=downtime,
        probe_downtime_seconds=probe_down,
        incident_downtime_seconds=_total(declared),
        partial_outage_seconds=_overlap(partial, start, end),
        observed_seconds=observed,
        components=[c.slug for c in components],
        incidents=incidents,
    )
