"""Measured availability of the service over a period, for SLA credit claims.

Read only: built from the raw 5-minute snapshots while they are kept
(LEVQOR_STATUS_RAW_RETENTION_DAYS), else the hourly rollups (daily ones once
the period is older than the hourly retention), the incidents staff declared
and the maintenance windows. Nothing here probes or calls an outside service.

How the figure is made, for a period [start, end):

- *SLA components*: the visible, non-group components marked critical (by
  default Web/API, Database and Cache); when none is critical, all of them.
- *Probe downtime* per bucket (an hour, or a UTC day for old periods). From
  raw snapshots: every 5-minute slot in which any SLA component was down
  (exact union). From rollups, which hold per-component sums only: the
  largest `downtime_seconds` of any SLA component in the bucket. Outages of
  critical components mostly overlap (the web is down when the database is),
  so that is a fair, never double-counting, lower bound of the union.
- *Incident downtime*: the time any component was declared `major_outage` on
  an incident, from its start to its resolution (or now), clipped to the
  period. Partial outages and degraded performance are reported, not counted.
- *Maintenance* is excluded: maintenance snapshots are already outside the
  rollups' downtime, and declared incident time inside a maintenance window
  (from its start to its completion) is removed.
- Per bucket the downtime is the larger of the probe and incident figures
  (so one outage seen both ways counts once); the total is their sum.
- `uptime_percent = 100 × (period − maintenance − downtime) / (period −
  maintenance)`. Time no probe observed is not downtime (no evidence), but
  `observed_seconds` says how much of the period was measured.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
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


def sla_components() -> list[Component]:
    components = list(Component.objects.filter(is_group=False, hidden=False).order_by("position", "name"))
    critical = [c for c in components if c.critical]
    return critical or components


def maintenance_windows(*, start: datetime, end: datetime, now: datetime) -> list[Interval]:
    """Maintenance that ran (or runs) inside [start, end), merged."""
    rows = Maintenance.objects.filter(
        status__in=(MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING, MaintenanceStatus.COMPLETED)
    ).filter(Q(started_at__lt=end) | Q(started_at__isnull=True, scheduled_for__lt=end))
    windows = []
    for m in rows:
        begin = m.started_at or m.scheduled_for
        finish = m.completed_at or (now if m.status != MaintenanceStatus.COMPLETED else m.scheduled_until)
        windows.append((max(begin, start), min(finish, end)))
    return _merge(windows)


def _incident_intervals(*, start: datetime, end: datetime, now: datetime, status: str) -> tuple[list, list[dict]]:
    affected = (
        IncidentComponent.objects.filter(status=status, incident__started_at__lt=end)
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gt=start))
        .select_related("incident")
    )
    intervals, seen = [], {}
    for row in affected:
        incident: Incident = row.incident
        finish = incident.resolved_at or now
        intervals.append((max(incident.started_at, start), min(finish, end)))
        seen[incident.pk] = {"id": incident.public_id, "name": incident.name, "impact": incident.impact}
    return _merge(intervals), list(seen.values())


def _raw_buckets(ids: list[int], start: datetime, end: datetime):
    """(hour, down, observed, maintenance) per hour from the raw snapshots:
    a 5-minute bucket is down when any SLA component was down in it, so
    overlapping outages of several components count once, exactly."""
    rows = (
        Snapshot.objects.filter(component_id__in=ids, taken_at__gte=start, taken_at__lt=end)
        .values("taken_at")
        .annotate(
            down=Count("id", filter=Q(state=State.DOWN, in_maintenance=False)),
            counted=Count("id", filter=Q(in_maintenance=False)),
            maintenance=Count("id", filter=Q(in_maintenance=True)),
        )
        .order_by()
    )
    hours: dict[datetime, list[int]] = {}
    for row in rows:
        hour = row["taken_at"].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        sums = hours.setdefault(hour, [0, 0, 0])
        sums[0] += SNAPSHOT_SECONDS if row["down"] else 0
        sums[1] += SNAPSHOT_SECONDS if row["counted"] else 0
        sums[2] += SNAPSHOT_SECONDS if row["maintenance"] and not row["counted"] else 0
    return ((hour, d, o, m) for hour, (d, o, m) in hours.items())


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
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    buckets: dict[datetime, dict[str, int]] = {}
    if raw:
        keyed = _raw_buckets(ids, start, end)
    elif hourly:
        rows = HourlyRollup.objects.filter(component_id__in=ids, hour__gte=start, hour__lt=end).values_list(
            "hour", "downtime_seconds", "observed_seconds", "maintenance_seconds"
        )
        keyed = ((h.astimezone(UTC), d, o, m) for h, d, o, m in rows)
    else:
        rows = DailyRollup.objects.filter(
            component_id__in=ids, day__gte=start.date(), day__lte=(end - timedelta(microseconds=1)).date()
        ).values_list("day", "downtime_seconds", "observed_seconds", "maintenance_seconds")
        keyed = ((datetime(d.year, d.month, d.day, tzinfo=UTC), dn, o, m) for d, dn, o, m in rows)
    for key, down, observed, maintenance in keyed:
        if key + step <= start or key >= end:
            continue
        bucket = buckets.setdefault(key, {"down": 0, "observed": 0, "maintenance": 0})
        bucket["down"] = max(bucket["down"], down)
        bucket["observed"] = max(bucket["observed"], observed)
        bucket["maintenance"] = max(bucket["maintenance"], maintenance)

    windows = maintenance_windows(start=start, end=end, now=now)
    outages, incidents = _incident_intervals(start=start, end=end, now=now, status=ComponentStatus.MAJOR_OUTAGE)
    outages = _subtract(outages, windows)
    partial, partial_incidents = _incident_intervals(
        start=start, end=end, now=now, status=ComponentStatus.PARTIAL_OUTAGE
    )
    for item in partial_incidents:
        if item not in incidents:
            incidents.append({**item, "counted": False})

    downtime = probe_down = incident_down = maintenance = observed = 0
    cursor = start
    while cursor < end:
        bucket_start = cursor
        if not hourly:
            bucket_start = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        bucket_end = min(bucket_start + step, end)
        row = buckets.get(bucket_start, {"down": 0, "observed": 0, "maintenance": 0})
        declared = _overlap(outages, cursor, bucket_end)
        planned = max(row["maintenance"], _overlap(windows, cursor, bucket_end))
        span = int((bucket_end - cursor).total_seconds())
        probe_down += row["down"]
        incident_down += declared
        downtime += min(span, max(row["down"], declared))
        maintenance += min(span, planned)
        observed += min(span - min(span, planned), row["observed"])
        cursor = bucket_end

    return SlaMeasurement(
        start=start,
        end=end,
        resolution="snapshots" if raw else ("hourly" if hourly else "daily"),
        period_seconds=int((end - start).total_seconds()),
        maintenance_seconds=maintenance,
        downtime_seconds=downtime,
        probe_downtime_seconds=probe_down,
        incident_downtime_seconds=incident_down,
        partial_outage_seconds=_overlap(partial, start, end),
        observed_seconds=observed,
        components=[c.slug for c in components],
        incidents=incidents,
    )
