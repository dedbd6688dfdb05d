"""Status reads: health, the page's state, uptime by day, chart series.

Pages and JSON read stored results only (component rows, rollups, incidents):
nothing here runs a probe or calls an outside service.

Component statuses, the page indicator, staleness and `ok` are computed in
one place, `status.state.evaluate()`; this module feeds it and adds the
objects the page shows.
"""

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Min, Prefetch, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from levqor.api.selectors import secret_hash

from . import cache_keys, state
from .models import (
    UNRESOLVED,
    Component,
    ComponentStatus,
    DailyRollup,
    HourlyRollup,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    Probe,
    State,
    StatusApiKey,
    Subscriber,
    WebhookSubscriber,
)

logger = logging.getLogger(__name__)

ACTIVE_MAINTENANCE = state.ACTIVE_MAINTENANCE

STATUS_RANK = state.STATUS_RANK
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


# The health endpoint's report is the one evaluation (see `status.state`).
HealthReport = state.Evaluation
ComponentHealth = state.ComponentState


def _database_trouble(exc: DatabaseError) -> tuple[str, str]:
    """A query that ran out of time means a slow database; anything else
    (refused connection, ...) means down. Only the error class is kept."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    slow = sqlstate in {"57014", "55P03"} or "interrupted" in str(exc).lower()
    if slow:
        return State.DEGRADED, f"no answer within {settings.LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS} ms"
    return State.DOWN, f"unreachable ({type(exc).__name__})"


EMPTY_INPUTS = {"rows": [], "heartbeat": None, "stated": {}, "incidents": [], "maintenances": [], "maintained": set()}


def cached_inputs() -> tuple[dict, tuple[str, str] | None]:
    """The evaluation's inputs: a cached copy for a few seconds; on a miss
    one time-boxed read; when that read fails, the last good copy and the
    database's trouble (so the database is marked slow or down)."""
    data = _cache_get(cache_keys.HEALTH_ROWS)
    if data is not None:
        return data, None
    try:
        with db_time_box(settings.LEVQOR_STATUS_HEALTH_DB_TIMEOUT_MS):
            data = state.status_inputs()
    except DatabaseError as exc:
        logger.warning("status health: database read failed (%s)", type(exc).__name__)
        return _cache_get(cache_keys.HEALTH_LAST) or EMPTY_INPUTS, _database_trouble(exc)
    _cache_set(cache_keys.HEALTH_ROWS, data, settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS)
    _cache_set(cache_keys.HEALTH_LAST, data, cache_keys.LAST_GOOD_SECONDS)
    return data, None


def status_evaluate(*, now: datetime | None = None, cached: bool = True) -> state.Evaluation:
    """The one evaluation of every component and of the page (see `status.state`)."""
    now = now or timezone.now()
    if not cached:
        return state.evaluate(state.status_inputs(), now=now)
    data, trouble = cached_inputs()
    return state.evaluate(data, now=now, database_trouble=trouble)


def health_report(*, now: datetime | None = None) -> state.Evaluation:
    """The health of every component, from stored results (never probes)."""
    return status_evaluate(now=now)


# --- The page's state (shared by /status and the v2 API) ----------------------------


def components_in_maintenance(*, now: datetime | None = None, announced_only: bool = False) -> set[int]:
    """Ids of components under a maintenance in progress (or being verified).
    With `announced_only`, only maintenance announced 48 hours ahead (the
    only kind /sla excludes from downtime)."""
    rows = Maintenance.components.through.objects.filter(maintenance__status__in=ACTIVE_MAINTENANCE).select_related(
        "maintenance"
    )
    return {row.component_id for row in rows if not announced_only or row.maintenance.announced_ahead}


component_status = state.component_status
page_indicator = state.page_indicator


@dataclass
class ComponentView:
    component: Component
    status: str
    children: list["ComponentView"] = field(default_factory=list)
    stale: bool = False

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
    evaluation: state.Evaluation | None = None

    @property
    def description(self) -> str:
        return INDICATOR_DESCRIPTION[self.indicator]

    @property
    def banner(self) -> str:
        return INDICATOR_BANNER[self.indicator]

    @property
    def ok(self) -> bool:
        return self.evaluation.ok if self.evaluation else False

    @property
    def stale_since(self) -> datetime | None:
        return self.evaluation.stale_since if self.evaluation else None

    @property
    def stale(self) -> bool:
        return bool(self.evaluation and self.evaluation.stale)


def _incident_queryset():
    return Incident.objects.filter(draft=False).prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-display_at", "-id")),
        Prefetch("affected", queryset=IncidentComponent.objects.select_related("component")),
    )


def _maintenance_queryset():
    return Maintenance.objects.prefetch_related(
        Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("-display_at", "-id")), "components"
    )


def page_state(*, now: datetime | None = None, evaluation: state.Evaluation | None = None) -> PageState:
    """/status and the v2 API: component statuses and the indicator come
    from the one evaluation; this adds the objects the page shows."""
    now = now or timezone.now()
    evaluation = evaluation or status_evaluate(now=now, cached=False)
    by_id = evaluation.by_id
    components = {c.pk: c for c in Component.objects.filter(hidden=False).order_by("position", "name")}
    unresolved = list(_incident_queryset().filter(status__in=UNRESOLVED).order_by("-started_at"))
    maintenances = list(
        _maintenance_queryset()
        .filter(status__in=(*ACTIVE_MAINTENANCE, MaintenanceStatus.SCHEDULED))
        .order_by("scheduled_for")
    )
    views: dict[int, ComponentView] = {}
    for pk, component in components.items():
        evaluated = by_id.get(pk)
        if evaluated is None:  # created since the (cached) inputs were read
            continue
        views[pk] = ComponentView(component, evaluated.status, stale=evaluated.stale)
    top = []
    for pk, view in views.items():
        if view.component.is_group:
            view.children = [v for v in views.values() if v.component.group_id == pk and not v.component.is_group]
            top.append(view)
        elif view.component.group_id not in views:
            top.append(view)
    stamps = [evaluation.results_at] if evaluation.results_at else []
    stamps += [i.updated_at for i in unresolved] + [m.updated_at for m in maintenances]
    return PageState(
        components=top,
        all_components=list(views.values()),
        indicator=evaluation.indicator,
        unresolved=unresolved,
        active_maintenances=[m for m in maintenances if m.status in ACTIVE_MAINTENANCE],
        upcoming_maintenances=[m for m in maintenances if m.status == MaintenanceStatus.SCHEDULED],
        updated_at=max(stamps) if stamps else now,
        evaluation=evaluation,
    )


def incidents_recent(*, limit: int = 50) -> list[Incident]:
    """The most recent published incidents (Statuspage: 50), newest first."""
    return list(_incident_queryset().order_by("-started_at", "-id")[:limit])


def incidents_resolved_since(*, since: datetime, limit: int = 10) -> list[Incident]:
    return list(
        _incident_queryset()
        .exclude(status__in=UNRESOLVED)
        .filter(started_at__gte=since)
        .order_by("-started_at")[:limit]
    )


def incident_unresolved_count() -> int:
    return Incident.objects.filter(status__in=UNRESOLVED, draft=False).count()


def incident_draft_count() -> int:
    return Incident.objects.filter(status__in=UNRESOLVED, draft=True).count()


def maintenances_recent(*, limit: int = 50, statuses: tuple[str, ...] | None = None) -> list[Maintenance]:
    queryset = _maintenance_queryset()
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
        return list(queryset.order_by("scheduled_for", "id")[:limit])
    return list(queryset.order_by("-scheduled_for", "-id")[:limit])


def banner_items(*, now: datetime | None = None) -> list[dict]:
    """The site-wide banners, from the one evaluation (cached inputs):
    published unresolved incidents, outages no incident explains yet,
    delayed monitoring, maintenance in progress."""
    evaluation = status_evaluate(now=now)
    items = [{"kind": "incident", "name": i["name"], "impact": i["impact"]} for i in evaluation.incidents]
    if evaluation.stale and evaluation.results_at is not None:
        items.append({"kind": "stale", "since": evaluation.results_at})
    elif evaluation.outages and not evaluation.incidents:
        items.append({"kind": "outage", "names": [c.name for c in evaluation.outages]})
    items += [{"kind": "maintenance", "name": m["name"]} for m in evaluation.maintenances]
    return items


def components_stale_count(*, now: datetime | None = None) -> int:
    """Probed components whose newest result is older than two probe
    intervals (all of them when the worker taking snapshots is dead)."""
    now = now or timezone.now()
    return (
        Component.objects.filter(is_group=False)
        .exclude(probe__in=("", Probe.QUEUE))
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=now - state.STALE_AFTER))
        .count()
    )


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


# --- History: every published incident and maintenance, by month -------------

HISTORY_MONTHS_PER_PAGE = 3


def month_add(month: date, months: int) -> date:
    """The first day of the month `months` after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months_between(newest: date, oldest: date) -> int:
    return (newest.year - oldest.year) * 12 + newest.month - oldest.month + 1


@dataclass(frozen=True)
class HistoryMonth:
    month: date  # its first day, in the page's time zone (settings.TIME_ZONE)
    items: list  # Incident and Maintenance objects, newest first


@dataclass(frozen=True)
class HistoryPage:
    number: int  # 1 is the newest
    count: int
    months: list[HistoryMonth]

    @property
    def has_newer(self) -> bool:
        return self.number > 1

    @property
    def has_older(self) -> bool:
        return self.number < self.count


def _local_month(moment: datetime) -> date:
    local = timezone.localtime(moment)
    return date(local.year, local.month, 1)


def _month_start(month: date) -> datetime:
    return timezone.make_aware(datetime(month.year, month.month, 1))


def history_span(*, now: datetime | None = None) -> tuple[date, date]:
    """(newest, oldest) month the history covers: from the month of the first
    published incident or maintenance ever (or this month) to this month (or
    the month of the latest maintenance scheduled, if later). Two aggregate
    queries; drafts never count."""
    now = now or timezone.now()
    incidents = Incident.objects.filter(draft=False).aggregate(first=Min("started_at"), last=Max("started_at"))
    maintenances = Maintenance.objects.aggregate(first=Min("scheduled_for"), last=Max("scheduled_for"))
    stamps = [now, *(v for v in (*incidents.values(), *maintenances.values()) if v is not None)]
    return max(_local_month(s) for s in stamps), min(_local_month(s) for s in stamps)


def history_page_count(*, now: datetime | None = None, per_page: int = HISTORY_MONTHS_PER_PAGE) -> int:
    newest, oldest = history_span(now=now)
    return -(-_months_between(newest, oldest) // per_page)


def history_page(
    *, number: int, now: datetime | None = None, per_page: int = HISTORY_MONTHS_PER_PAGE
) -> HistoryPage | None:
    """Page `number` (1 = newest) of the history: `per_page` months, newest
    first, each with its published incidents (by start) and maintenances (by
    scheduled start). None when there is no such page."""
    newest, oldest = history_span(now=now)
    count = -(-_months_between(newest, oldest) // per_page)
    if not 1 <= number <= count:
        return None
    first = month_add(newest, -(number - 1) * per_page)  # the page's newest month
    last = max(month_add(first, -(per_page - 1)), oldest)  # and its oldest
    start, end = _month_start(last), _month_start(month_add(first, 1))
    incidents = (
        Incident.objects.filter(draft=False, started_at__gte=start, started_at__lt=end)
        .prefetch_related(
            Prefetch(
                "affected",
                queryset=IncidentComponent.objects.filter(component__hidden=False).select_related("component"),
            )
        )
        .order_by("-started_at", "-id")
    )
    maintenances = (
        Maintenance.objects.filter(scheduled_for__gte=start, scheduled_for__lt=end)
        .prefetch_related(Prefetch("components", queryset=Component.objects.filter(hidden=False)))
        .order_by("-scheduled_for", "-id")
    )
    by_month: dict[date, list] = {}
    for incident in incidents:
        by_month.setdefault(_local_month(incident.started_at), []).append((incident.started_at, incident))
    for maintenance in maintenances:
        by_month.setdefault(_local_month(maintenance.scheduled_for), []).append(
            (maintenance.scheduled_for, maintenance)
        )
    months = []
    month = first
    while month >= last:
        found = sorted(by_month.get(month, []), key=lambda pair: pair[0], reverse=True)
        months.append(HistoryMonth(month, [item for _, item in found]))
        month = month_add(month, -1)
    return HistoryPage(number=number, count=count, months=months)


def uptime_by_month(*, component_ids: list[int], last_day: date, months: int = 12) -> dict[int, list[Day]]:
    """Per component, one entry per UTC month (its first day; oldest first)
    for the `months` months up to and including `last_day`'s, summed from
    the daily rollups in one aggregate query (`months × components` rows).

    The same measure as the 90-day bars: probe-observed time, where a
    snapshot taken under maintenance that names the component and was
    announced 48 hours ahead (/sla, `status.sla`) is outside both observed
    and available time; any other maintenance counts like any outage."""
    first = month_add(last_day.replace(day=1), -(months - 1))
    rows = (
        DailyRollup.objects.filter(component_id__in=component_ids, day__gte=first, day__lte=last_day)
        .annotate(month=TruncMonth("day"))
        .values("component_id", "month")
        .annotate(
            observed=Sum("observed_seconds"),
            available=Sum("available_seconds"),
            down=Sum("downtime_seconds"),
            maintenance=Sum("maintenance_seconds"),
        )
        .order_by()
    )
    found: dict[tuple[int, date], Day] = {}
    for row in rows:
        month = row["month"]
        month = date(month.year, month.month, 1)
        found[(row["component_id"], month)] = Day(
            month, row["observed"] or 0, row["available"] or 0, row["down"] or 0, row["maintenance"] or 0
        )
    span = [month_add(first, n) for n in range(months)]
    return {cid: [found.get((cid, m)) or Day(m) for m in span] for cid in component_ids}


# --- Status API keys ---------------------------------------------------------------

STATUS_KEY_PREFIX = "lvq_status_"
STATUS_KEY_LENGTH = len(STATUS_KEY_PREFIX) + 32


def status_api_key_for_secret(raw: str) -> StatusApiKey | None:
    """The key a caller sent, whatever its state, or None. Malformed input
    (a customer key, anything else) is refused without a query."""
    if len(raw) != STATUS_KEY_LENGTH or not raw.startswith(STATUS_KEY_PREFIX):
        return None
    return StatusApiKey.objects.filter(secret_hash=secret_hash(raw)).first()


# --- The manage API (/api/v1/) ----------------------------------------------------


def manage_incidents(*, statuses=None, q: str = "", limit: int = 100, page: int = 1) -> list[Incident]:
    """Published incidents, newest first, as the manage API lists them."""
    queryset = _incident_queryset()
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    if q:
        queryset = queryset.filter(name__icontains=q)
    start = (page - 1) * limit
    return list(queryset.order_by("-created_at", "-id")[start : start + limit])


def manage_maintenances(
    *, statuses=None, q: str = "", limit: int = 100, page: int = 1, upcoming_after: datetime | None = None
) -> list[Maintenance]:
    """Scheduled maintenances, newest first (upcoming ones: soonest first)."""
    queryset = _maintenance_queryset()
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    if q:
        queryset = queryset.filter(name__icontains=q)
    order = ("-created_at", "-id")
    if upcoming_after is not None:
        queryset = queryset.filter(scheduled_for__gt=upcoming_after)
        order = ("scheduled_for", "id")
    start = (page - 1) * limit
    return list(queryset.order_by(*order)[start : start + limit])


# Statuspage's subscriber states, for each kind of subscriber: a webhook
# disabled after repeated failures is "quarantined" (Statuspage's word for a
# subscriber it stopped sending to); email subscribers never are.
_EMAIL_STATES = {
    "active": Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True),
    "unconfirmed": Q(confirmed_at__isnull=True, unsubscribed_at__isnull=True),
    "unsubscribed": Q(unsubscribed_at__isnull=False),
    "all": Q(),
}
_WEBHOOK_STATES = {
    "active": Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True, disabled_at__isnull=True),
    "unconfirmed": Q(confirmed_at__isnull=True, unsubscribed_at__isnull=True),
    "unsubscribed": Q(unsubscribed_at__isnull=False),
    "quarantined": Q(disabled_at__isnull=False, unsubscribed_at__isnull=True),
    "all": Q(),
}
SUBSCRIBER_STATES = tuple(_WEBHOOK_STATES)


def _with_components(queryset):
    return queryset.prefetch_related(Prefetch("components", queryset=Component.objects.order_by("position", "name")))


def manage_subscribers(
    *, kinds, state: str, q: str = "", limit: int = 100, page: int = 1
) -> list[Subscriber | WebhookSubscriber]:
    """Email and/or webhook subscribers (`kinds`: "email", "webhook") in
    Statuspage's `state`, oldest first, with their chosen components: what
    the manage API lists. `q` searches the address (and a webhook's endpoint)."""
    rows: list[Subscriber | WebhookSubscriber] = []
    wanted = page * limit
    if "email" in kinds and state in _EMAIL_STATES:
        emails = Subscriber.objects.filter(_EMAIL_STATES[state])
        if q:
            emails = emails.filter(email__icontains=q)
        rows += _with_components(emails.order_by("created_at", "pk"))[:wanted]
    if "webhook" in kinds:
        webhooks = WebhookSubscriber.objects.filter(_WEBHOOK_STATES[state])
        if q:
            webhooks = webhooks.filter(Q(email__icontains=q) | Q(endpoint__icontains=q))
        rows += _with_components(webhooks.order_by("created_at", "pk"))[:wanted]
    rows.sort(key=lambda s: (s.created_at, isinstance(s, WebhookSubscriber), s.pk))
    return rows[(page - 1) * limit : wanted]


def manage_subscriber(*, kind: str, key: str) -> Subscriber | WebhookSubscriber | None:
    """One subscriber by the manage API's id: an email subscriber's number,
    a webhook subscriber's public id."""
    if kind == "webhook":
        return _with_components(WebhookSubscriber.objects.filter(public_id=key)).first()
    return _with_components(Subscriber.objects.filter(pk=key)).first()


def incident_or_maintenance(public_id: str) -> Incident | Maintenance | None:
    """What a manage-API incident id names: a published incident or a maintenance."""
    return (
        _incident_queryset().filter(public_id=public_id).first()
        or _maintenance_queryset().filter(public_id=public_id).first()
    )
