"""The one computation of the service's state.

`/api/status/health` (both formats), every `/api/v2/*.json`, `/status`, the
site banners and the on-call alerts all call `evaluate()` on the inputs
`status_inputs()` reads, so they cannot disagree. Per component:

- the probe state: the latest stored result (`up` | `degraded` | `down`);
  the task queue's comes from the worker heartbeat's age at read time;
- the status (Statuspage's vocabulary): `under_maintenance` while a
  maintenance naming it is in progress, otherwise the worst of the probe
  state (`down` → `major_outage`), the status staff declared on a
  published, unresolved incident, and the status staff set on the component
  itself (`Component.declared_status`, through the status API or
  `services.component_status_set`).

*Stale*: when the newest probe result is older than two probe intervals
(`STALE_AFTER`), nothing measures the service any more (the worker that
takes snapshots is dead or stuck). The task queue then reads as down, the
page says since when monitoring is delayed, and no result is shown as current.

*ok*: false (HTTP 503 on health) whenever the page indicator is `major` or
`critical`: a component in partial or major outage (probed or declared) or a
published incident of major or critical impact. Degraded performance and
maintenance keep `ok` true (health+json `warn`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from . import probes
from .models import (
    SNAPSHOT_SECONDS,
    UNRESOLVED,
    Component,
    ComponentStatus,
    Heartbeat,
    Incident,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    Probe,
    State,
)

PROBE_INTERVAL = timedelta(seconds=SNAPSHOT_SECONDS)
STALE_AFTER = 2 * PROBE_INTERVAL
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
OUTAGE = (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE)

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
# The simple health format's per-component word for each status.
HEALTH_STATE = {
    ComponentStatus.OPERATIONAL: "up",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.PARTIAL_OUTAGE: "down",
    ComponentStatus.MAJOR_OUTAGE: "down",
}
INDICATOR_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
NOT_OK_INDICATORS = ("major", "critical")

COMPONENT_FIELDS = (
    "id",
    "public_id",
    "slug",
    "name",
    "probe",
    "critical",
    "is_group",
    "group_id",
    "hidden",
    "state",
    "latency_ms",
    "note",
    "checked_at",
    "declared_status",
)


def status_inputs() -> dict:
    """Everything `evaluate()` needs, as plain data (cacheable): a handful
    of small queries."""
    rows = list(Component.objects.order_by("position", "name").values(*COMPONENT_FIELDS))
    heartbeat = Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
    published = Incident.objects.filter(status__in=UNRESOLVED, draft=False)
    stated: dict[int, str] = {}
    for component_id, status in IncidentComponent.objects.filter(incident__in=published).values_list(
        "component_id", "status"
    ):
        if component_id not in stated or STATUS_RANK[status] > STATUS_RANK[stated[component_id]]:
            stated[component_id] = status
    incidents = list(published.order_by("-started_at").values("public_id", "name", "impact"))
    active = Maintenance.objects.filter(status__in=ACTIVE_MAINTENANCE)
    maintenances = list(active.order_by("scheduled_for").values("public_id", "name"))
    maintained = set(
        Maintenance.components.through.objects.filter(maintenance__in=active).values_list("component_id", flat=True)
    )
    return {
        "rows": rows,
        "heartbeat": heartbeat,
        "stated": stated,
        "incidents": incidents,
        "maintenances": maintenances,
        "maintained": maintained,
    }


@dataclass(frozen=True)
class ComponentState:
    id: int
    slug: str
    name: str
    public_id: str
    probe: str
    critical: bool
    is_group: bool
    group_id: int | None
    hidden: bool
    state: str  # probe state: up | degraded | down
    latency_ms: int | None
    note: str
    checked_at: datetime | None
    status: str  # Statuspage status
    stale: bool = False

    @property
    def ok(self) -> bool:
        return self.status not in OUTAGE

    @property
    def health_state(self) -> str:
        return HEALTH_STATE[self.status]


@dataclass(frozen=True)
class Evaluation:
    now: datetime
    components: list[ComponentState]  # every one, groups and hidden included, in order
    indicator: str
    stale: bool
    results_at: datetime | None  # newest stored probe result
    incidents: list[dict]  # published, unresolved: public_id, name, impact
    maintenances: list[dict]  # in progress: public_id, name
    from_last_good: bool = False

    @property
    def timestamp(self) -> datetime:
        return self.now

    @property
    def visible(self) -> list[ComponentState]:
        """Leaves shown publicly (health, /status, v2), in order."""
        return [c for c in self.components if not c.hidden and not c.is_group]

    @property
    def ok(self) -> bool:
        return bool(self.visible) and self.indicator not in NOT_OK_INDICATORS

    @property
    def warn(self) -> bool:
        return any(c.status != ComponentStatus.OPERATIONAL for c in self.visible)

    @property
    def stale_since(self) -> datetime | None:
        """Since when monitoring is delayed: the time of the newest result."""
        return self.results_at if self.stale else None

    @property
    def by_id(self) -> dict[int, ComponentState]:
        return {c.id: c for c in self.components}

    @property
    def outages(self) -> list[ComponentState]:
        return [c for c in self.visible if c.status in OUTAGE]


def worse_status(*statuses: str | None) -> str | None:
    """The worst of some Statuspage statuses (None: nothing said)."""
    said = [s for s in statuses if s]
    return max(said, key=STATUS_RANK.__getitem__) if said else None


def component_status(state: str, *, incident_status: str | None = None, in_maintenance: bool = False) -> str:
    if in_maintenance:
        return ComponentStatus.UNDER_MAINTENANCE
    status = PROBE_STATUS.get(state, ComponentStatus.MAJOR_OUTAGE)
    if incident_status and STATUS_RANK[incident_status] > STATUS_RANK[status]:
        status = incident_status
    return str(status)


def page_indicator(component_statuses: list[tuple[str, bool]], impacts: list[str], maintenance: bool) -> str:
    """A critical component in major outage → `critical`; any major or
    partial outage → `major`; degraded → `minor`; then the worst impact of
    the published unresolved incidents; `maintenance` when nothing else."""
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


def _utc_hhmm(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def evaluate(inputs: dict, *, now: datetime, database_trouble: tuple[str, str] | None = None) -> Evaluation:
    """The state of every component and of the page, at `now`, from `inputs`."""
    rows = inputs["rows"]
    probed = [r for r in rows if not r["is_group"] and r["probe"]]
    stamps = [r["checked_at"] for r in probed if r["checked_at"] and r["probe"] != Probe.QUEUE]
    results_at = max(stamps) if stamps else None
    stale = bool(probed) and (results_at is None or now - results_at > STALE_AFTER)
    leaves: dict[int, ComponentState] = {}
    for row in rows:
        if row["is_group"]:
            continue
        state, latency, note, checked = row["state"], row["latency_ms"], row["note"], row["checked_at"]
        if row["probe"] == Probe.QUEUE:
            # Judged at read time from the heartbeat's age, so a dead worker
            # shows as soon as it stops beating, snapshots or not.
            result = probes.queue_result(inputs["heartbeat"], now)
            state, latency, note, checked = result.state, None, result.note, inputs["heartbeat"]
            if stale:
                state, note = State.DOWN, f"monitoring delayed since {_utc_hhmm(results_at)}"
        elif row["probe"] == Probe.DATABASE and database_trouble:
            state, latency, note, checked = database_trouble[0], None, database_trouble[1], now
        status = component_status(
            state,
            incident_status=worse_status(inputs["stated"].get(row["id"]), row.get("declared_status")),
            in_maintenance=row["id"] in inputs["maintained"],
        )
        leaves[row["id"]] = ComponentState(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            public_id=row["public_id"],
            probe=row["probe"],
            critical=row["critical"],
            is_group=False,
            group_id=row["group_id"],
            hidden=row["hidden"],
            state=state,
            latency_ms=latency,
            note=note,
            checked_at=checked,
            status=status,
            stale=stale and row["probe"] != Probe.QUEUE,
        )
    if database_trouble and not any(c.probe == Probe.DATABASE for c in leaves.values()):
        leaves[0] = ComponentState(
            0, "database", "Database", "", Probe.DATABASE, True, False, None, False, database_trouble[0], None,
            database_trouble[1], now, str(PROBE_STATUS[database_trouble[0]]),
        )  # fmt: skip
    components: list[ComponentState] = []
    for row in rows:
        if not row["is_group"]:
            components.append(leaves[row["id"]])
            continue
        children = [c for c in leaves.values() if c.group_id == row["id"] and not c.hidden]
        status = max((c.status for c in children), key=STATUS_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)
        components.append(
            ComponentState(
                row["id"], row["slug"], row["name"], row["public_id"], "", False, True, None, row["hidden"],
                State.UP, None, "", None, str(status),
            )
        )  # fmt: skip
    if 0 in leaves:
        components.append(leaves[0])
    visible = [c for c in components if not c.hidden and not c.is_group]
    indicator = page_indicator(
        [(c.status, c.critical) for c in visible],
        [i["impact"] for i in inputs["incidents"]],
        bool(inputs["maintenances"]),
    )
    return Evaluation(
        now=now,
        components=components,
        indicator=indicator,
        stale=stale,
        results_at=results_at,
        incidents=inputs["incidents"],
        maintenances=inputs["maintenances"],
        from_last_good=database_trouble is not None,
    )
