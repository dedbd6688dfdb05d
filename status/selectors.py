"""Status reads: health, the page's state, uptime by day, chart series.

Pages and JSON read stored results only (component rows, rollups, incidents):
nothing here runs a probe or calls an outside service.

Our states map to Statuspage's vocabulary here (and only here):

- component status: a component under an in-progress maintenance is
  `under_maintenance` (planned work is not an outage); otherwise the worse of
  its probe state (`up` → `operational`, `degraded` → `degraded_performance`,
  `down` → `major_outage`) and the status staff gave it on an unresolved
  incident (`degraded_performance`, `partial_outage` or `major_outage`).
  A group takes the worst status of its visible children.
- page indicator: the worse of (a) the components: a critical component in
  `major_outage` → `critical`, any `major_outage` or `partial_outage` →
  `major`, any `degraded_performance` → `minor`; and (b) the highest impact
  of the unresolved incidents. When that is `none` and a maintenance is in
  progress, the indicator is `maintenance`.
"""

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from . import cache_keys, probes
from .models import (
    UNRESOLVED,
    Component,
    ComponentStatus,
    DailyRollup,
    Heartbeat,
    HourlyRollup,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    Probe,
    State,
)

logger = logging.getLogger(__name__)

ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)

STATUS_RANK = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}
PROBE_STATUS = {
    State.UP: ComponentStatus.OPERATIONAL,
    State.DEGRADED: ComponentStatus.DEGRADED_PERFORMANCE,
    State.DOWN: ComponentStatus.MAJOR_OUTAGE,
}
INDICATOR_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
INDICATOR_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
    "maintenance": "Service Under Maintenance",
}
# The /status page's banner in plain words.
INDICATOR_BANNER = {
    "none": "All systems operational",
    "minor": "Degraded",
    "major": "Outage",
    "critical": "Outage",
    "maintenance": "Maintenance",
}


# --- Health -----------------------------------------------------------------


@contextmanager
def db_time_box(milliseconds: int):
    """Give up on the queries inside after `milliseconds` (raises
    OperationalError): PostgreSQL by statement and lock timeouts local to a
    transaction, SQLite by a progress handler that aborts the statement."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(milliseconds)}")
                cursor.execute(f"SET LOCAL lock_timeout = {int(milliseconds)}")
            yield
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        raw = connection.connection
        deadline = time.monotonic() + milliseconds / 1000
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
    else:
        yield


HEALTH_FIELDS = ("public_id", "slug", "name", "probe", "critical", "state", "latency_ms", "note", "checked_at")


def _health_rows_from_db() -> dict:
    with db_time_box(settings.LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS):
        rows = list(Component.objects.filter(is_group=False).order_by("position", "name").values(*HEALTH_FIELDS))
        beat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    return {"rows": rows, "heartbeat": beat}


def _cache_get(key):
    try:
        return cache.get(key)
    except Exception:
        logger.warning("status: cache read failed", exc_info=True)
        return None


def _cache_set(key, value, seconds):
    try:
        cache.set(key, value, seconds)
    except Exception:
        logger.warning("status: cache write failed", exc_info=True)


@dataclass(frozen=True)
class ComponentHealth:
    slug: str
    name: str
    public_id: str
    probe: str
    critical: bool
    state: str
    latency_ms: int | None
    note: str
    checked_at: datetime | None

    @property
    def ok(self) -> bool:
        return self.state != State.DOWN


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    timestamp: datetime
    components: list[ComponentHealth]
    from_last_good: bool = False

    @property
    def warn(self) -> bool:
        return any(c.state != State.UP for c in self.components)


def _database_trouble(exc: DatabaseError) -> tuple[str, str]:
    """A query that ran out of time means a slow database; anything else
    (refused connection, ...) means down. Only the error class is kept."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    slow = sqlstate in {"57014", "55P03"} or "interrupted" in str(exc).lower()
    if slow:
        return State.DEGRADED, f"no answer within {settings.LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS} ms"
    return State.DOWN, f"unreachable ({type(exc).__name__})"


def health_report(*, now: datetime | None = None) -> HealthReport:
    """The health of every component from stored results. A cached copy for
    a few seconds; on a cache miss one time-boxed read of a small table;
    when that read fails, the last good copy with the database marked."""
    now = now or timezone.now()
    data = _cache_get(cache_keys.HEALTH_ROWS)
    trouble = None
    if data is None:
        try:
            data = _health_rows_from_db()
        except DatabaseError as exc:
            trouble = _database_trouble(exc)
            logger.warning("status health: database read failed (%s)", type(exc).__name__)
            data = _cache_get(cache_keys.HEALTH_LAST) or {"rows": [], "heartbeat": None}
        else:
            _cache_set(cache_keys.HEALTH_ROWS, data, settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS)
            _cache_set(cache_keys.HEALTH_LAST, data, cache_keys.LAST_GOOD_SECONDS)
    components = []
    for row in data["rows"]:
        state, latency, note, checked = row["state"], row["latency_ms"], row["note"], row["checked_at"]
        if row["probe"] == Probe.QUEUE:
            # Judged at read time from the heartbeat's age, so a dead worker
            # shows as soon as it stops beating, snapshots or not.
            result = probes.queue_result(data["heartbeat"], now)
            state, latency, note, checked = result.state, None, result.note, data["heartbeat"]
        elif row["probe"] == Probe.DATABASE and trouble:
            state, latency, note, checked = trouble[0], None, trouble[1], now
        components.append(
            ComponentHealth(
                slug=row["slug"],
                name=row["name"],
                public_id=row["public_id"],
                probe=row["probe"],
                critical=row["critical"],
                state=state,
                latency_ms=latency,
                note=note,
                checked_at=checked,
            )
        )
    if trouble and not any(c.probe == Probe.DATABASE for c in components):
        components.append(
            ComponentHealth("database", "Database", "", Probe.DATABASE, True, trouble[0], None, trouble[1], now)
        )
    ok = bool(components) and not any(c.critical and c.state == State.DOWN for c in components)
    return HealthReport(ok=ok, timestamp=now, components=components, from_last_good=trouble is not None)


# --- The page's state (shared by /status and the v2 API) ----------------------------


def components_in_maintenance(*, now: datetime | None = None) -> set[int]:
    """Ids of components under a maintenance in progress (or being verified)."""
    return set(
        Maintenance.components.through.objects.filter(maintenance__status__in=ACTIVE_MAINTENANCE).values_list(
            "component_id", flat=True
        )
    )


def component_status(state: str, *, incident_status: str | None = None, in_maintenance: bool = False) -> str:
    if in_maintenance:
        return ComponentStatus.UNDER_MAINTENANCE
    status = PROBE_STATUS.get(state, ComponentStatus.MAJOR_OUTAGE)
    if incident_status and STATUS_RANK[incident_status] > STATUS_RANK[status]:
        status = incident_status
    return str(status)


def page_indicator(component_statuses: list[tuple[str, bool]], impacts: list[str], maintenance: bool) -> str:
    indicator = "none"

    def worse(a: str, b: str) -> str:
        return b if INDICATOR_RANK[b] > INDICATOR_RANK[a] else a

    for status, critical in component_statuses:
        if status == ComponentStatus.MAJOR_OUTAGE:
            indicator = worse(indicator, "critical" if critical else "major")
        elif status == ComponentStatus.PARTIAL_OUTAGE:
            indicator = worse(indicator, "major")
        elif status == ComponentStatus.DEGRADED_PERFORMANCE:
            indicator = worse(indicator, "minor")
    for impact in impacts:
        indicator = worse(indicator, impact if impact in INDICATOR_RANK else "none")
    if indicator == "none" and maintenance:
        return "maintenance"
    return indicator


@dataclass
class ComponentView:
    component: Component
    status: str
    children: list["ComponentView"] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return ComponentStatus(self.status).label


@dataclass
class PageState:
    components: list[ComponentView]  # top level, in order; groups carry children
    all_components: list[ComponentView]  # every visible one, flat
    indicator: str
    unresolved: list[Incident]
    active_maintenances: list[Maintenance]
    upcoming_maintenances: list[Maintenance]
    updated_at: datetime

    @property
    def description(self) -> str:
        return INDICATOR_DESCRIPTION[self.indicator]

    @property
    def banner(self) -> str:
        return INDICATOR_BANNER[self.indicator]


def _incident_queryset():
    return Incident.objects.prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("affected", queryset=IncidentComponent.objects.select_related("component")),
    )


def _maintenance_queryset():
    return Maintenance.objects.prefetch_related(
        Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("-display_at", "-id")), "components"
    )


def page_state(*, now: datetime | None = None) -> PageState:
    now = now or timezone.now()
    components = list(Component.objects.filter(hidden=False).order_by("position", "name"))
    unresolved = list(_incident_queryset().filter(status__in=UNRESOLVED).order_by("-started_at"))
    maintenances = list(
        _maintenance_queryset()
        .filter(status__in=(*ACTIVE_MAINTENANCE, MaintenanceStatus.SCHEDULED))
        .order_by("scheduled_for")
    )
    active = [m for m in maintenances if m.status in ACTIVE_MAINTENANCE]
    maintained = {c.pk for m in active for c in m.components.all()}
    stated: dict[int, str] = {}
    for incident in unresolved:
        for affected in incident.affected.all():
            current = stated.get(affected.component_id)
            if current is None or STATUS_RANK[affected.status] > STATUS_RANK[current]:
                stated[affected.component_id] = affected.status
    views = {
        c.pk: ComponentView(
            c, component_status(c.state, incident_status=stated.get(c.pk), in_maintenance=c.pk in maintained)
        )
        for c in components
        if not c.is_group
    }
    top = []
    for c in components:
        if c.is_group:
            group = ComponentView(c, ComponentStatus.OPERATIONAL)
            group.children = [v for v in views.values() if v.component.group_id == c.pk]
            if group.children:
                group.status = max((v.status for v in group.children), key=STATUS_RANK.__getitem__)
            views[c.pk] = group
            top.append(group)
        elif c.group_id is None or c.group_id not in {g.pk for g in components if g.is_group}:
            top.append(views[c.pk])
    # Keep the flat list in the staff's order.
    flat = [views[c.pk] for c in components]
    critical = [(v.status, v.component.critical) for v in flat if not v.component.is_group]
    indicator = page_indicator(critical, [i.impact for i in unresolved], bool(active))
    stamps = [c.checked_at for c in components if c.checked_at]
    stamps += [i.updated_at for i in unresolved] + [m.updated_at for m in maintenances]
    return PageState(
        components=top,
        all_components=flat,
        indicator=indicator,
        unresolved=unresolved,
        active_maintenances=active,
        upcoming_maintenances=[m for m in maintenances if m.status == MaintenanceStatus.SCHEDULED],
        updated_at=max(stamps) if stamps else now,
    )


def incidents_recent(*, limit: int = 50) -> list[Incident]:
    """The most recent incidents (Statuspage: 50), newest first."""
    return list(_incident_queryset().order_by("-started_at", "-id")[:limit])


def incidents_resolved_since(*, since: datetime, limit: int = 10) -> list[Incident]:
    return list(
        _incident_queryset()
        .exclude(status__in=UNRESOLVED)
        .filter(started_at__gte=since)
        .order_by("-started_at")[:limit]
    )


def incident_unresolved_count() -> int:
    return Incident.objects.filter(status__in=UNRESOLVED).count()


def maintenances_recent(*, limit: int = 50, statuses: tuple[str, ...] | None = None) -> list[Maintenance]:
    queryset = _maintenance_queryset()
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
        return list(queryset.order_by("scheduled_for", "id")[:limit])
    return list(queryset.order_by("-scheduled_for", "-id")[:limit])


def banner_items() -> list[dict]:
    """Unresolved incidents and maintenances in progress, for the site-wide
    banner. Cached for a few seconds and forgotten on every change."""
    items = _cache_get(cache_keys.BANNERS)
    if items is None:
        items = [
            {"kind": "incident", "name": i.name, "impact": i.impact, "id": i.public_id}
            for i in Incident.objects.filter(status__in=UNRESOLVED).order_by("-started_at")
        ] + [
            {"kind": "maintenance", "name": m.name, "impact": "maintenance", "id": m.public_id}
            for m in Maintenance.objects.filter(status__in=ACTIVE_MAINTENANCE).order_by("scheduled_for")
        ]
        _cache_set(cache_keys.BANNERS, items, cache_keys.BANNER_SECONDS)
    return items


# --- History: uptime by day, chart series --------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    observed_seconds: int = 0
    available_seconds: int = 0
    downtime_seconds: int = 0
    maintenance_seconds: int = 0

    @property
    def uptime(self) -> float | None:
        if not self.observed_seconds:
            return None
        return 100.0 * self.available_seconds / self.observed_seconds


def uptime_by_day(*, component_ids: list[int], last_day: date, days: int = 90) -> dict[int, list[Day]]:
    """One entry per day (oldest first) for each component, from the daily
    rollups: one query, `days × components` rows at most."""
    first_day = last_day - timedelta(days=days - 1)
    found: dict[tuple[int, date], Day] = {}
    rows = DailyRollup.objects.filter(
        component_id__in=component_ids, day__gte=first_day, day__lte=last_day
    ).values_list(
        "component_id", "day", "observed_seconds", "available_seconds", "downtime_seconds", "maintenance_seconds"
    )
    for cid, day, observed, available, down, maintenance in rows:
        found[(cid, day)] = Day(day, observed, available, down, maintenance)
    span = [first_day + timedelta(days=n) for n in range(days)]
    return {cid: [found.get((cid, d)) or Day(d) for d in span] for cid in component_ids}


def uptime_percent(days: list[Day]) -> float | None:
    """Available time over observed time; maintenance and unmeasured time
    are outside both."""
    observed = sum(d.observed_seconds for d in days)
    if not observed:
        return None
    return 100.0 * sum(d.available_seconds for d in days) / observed


@dataclass(frozen=True)
class HourPoint:
    hour: datetime
    uptime: float | None
    latency_ms: float | None


def hourly_series(*, component_ids: list[int], end: datetime, hours: int) -> dict[int, list[HourPoint]]:
    """Availability and average latency per hour for the `hours` hours up to
    and including the one holding `end`, from the hourly rollups."""
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    found = {}
    rows = HourlyRollup.objects.filter(component_id__in=component_ids, hour__gte=first, hour__lte=last).values_list(
        "component_id", "hour", "observed_seconds", "available_seconds", "latency_avg_ms"
    )
    for cid, hour, observed, available, latency in rows:
        uptime = 100.0 * available / observed if observed else None
        found[(cid, hour.astimezone(UTC))] = HourPoint(hour, uptime, latency)
    span = [first + timedelta(hours=n) for n in range(hours)]
    return {cid: [found.get((cid, h)) or HourPoint(h, None, None) for h in span] for cid in component_ids}
