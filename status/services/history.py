"""Probe results over time: snapshots, rollups, pruning, heartbeat, and the
records of real calls to outside services."""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Avg, Case, Count, F, Max, Min, Q, Sum, Value, When
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from compliance import audit

from .. import cache_keys, probes, selectors
from ..models import (
    SNAPSHOT_SECONDS,
    Component,
    DailyRollup,
    ExternalContact,
    Heartbeat,
    HourlyRollup,
    Probe,
    Snapshot,
    SnapshotRun,
    State,
)
from . import oncall

logger = logging.getLogger(__name__)

# (slug, name, description, probe, critical, degraded after ms)
DEFAULT_COMPONENTS = (
    ("web", "Web/API", "The console, customer pages and the REST API.", Probe.WEB, True, 1000),
    ("database", "Database", "Where accounts, workflows and runs are stored.", Probe.DATABASE, True, 250),
    ("cache", "Cache", "Sessions, rate limits and fast lookups.", Probe.CACHE, True, 100),
    ("queue", "Task queue", "Scheduled and background work.", Probe.QUEUE, False, 1000),
    ("stripe", "Payments (Stripe)", "Subscriptions, invoices and card payments.", Probe.STRIPE, False, 2000),
    ("email", "Email", "Sign-in links, receipts and notifications.", Probe.EMAIL, False, 3000),
    ("workflows", "Workflows", "Running customers' automated workflows.", Probe.WORKFLOWS, False, 500),
)


def components_ensure() -> list[Component]:
    """Create the default components that are missing (by slug). Safe to run twice."""
    made = []
    for position, (slug, name, description, probe, critical, degraded_ms) in enumerate(DEFAULT_COMPONENTS, 1):
        component, created = Component.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "probe": probe,
                "critical": critical,
                "degraded_after_ms": degraded_ms,
                "position": position * 10,
            },
        )
        if created:
            made.append(component)
    return made


@transaction.atomic
def component_save(*, component: Component, changed: list[str], actor) -> Component:
    """Save staff's edit of a component (name, order, group, ...). Audited."""
    created = component.pk is None
    component.save()
    audit.record(
        actor=actor,
        action="status.component.created" if created else "status.component.edited",
        target=component,
        details={"fields": sorted(changed)},
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return component


def bucket_of(moment: datetime) -> datetime:
    """The start of the 5-minute bucket holding `moment`, in UTC."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def snapshot_take(*, now: datetime | None = None) -> int | None:
    """Probe every component and store one snapshot each for the current
    5-minute bucket; refresh each component's current state. Safe to run
    twice: the bucket is claimed by a unique row first, so a second run (or
    a second worker) for the same bucket probes nothing and writes nothing.
    Returns the number of snapshots written, or None when already taken."""
    now = now or timezone.now()
    bucket = bucket_of(now)
    try:
        with transaction.atomic():
            SnapshotRun.objects.create(bucket=bucket)
    except IntegrityError:
        return None
    # The claim is committed before probing: if this worker dies while
    # probing, the bucket stays empty (a gap, which counts as no data, not
    # as downtime) rather than being probed twice.
    if not Component.objects.exists():
        components_ensure()
    components = list(Component.objects.filter(is_group=False))
    results = probes.run_all(components, now=now)
    # Only maintenance announced 48 hours ahead keeps a snapshot out of
    # uptime (/sla section 2); unannounced work counts like any outage.
    maintained = selectors.components_in_maintenance(now=now, announced_only=True)
    with transaction.atomic():
        Snapshot.objects.bulk_create(
            [
                Snapshot(
                    component=c,
                    taken_at=bucket,
                    state=results[c.pk].state,
                    latency_ms=results[c.pk].latency_ms,
                    note=results[c.pk].note[:200],
                    in_maintenance=c.pk in maintained,
                )
                for c in components
            ],
            ignore_conflicts=True,
        )
        for c in components:
            result = results[c.pk]
            Component.objects.filter(pk=c.pk).update(
                state=result.state, latency_ms=result.latency_ms, note=result.note[:200], checked_at=now
            )
        transaction.on_commit(cache_keys.forget_results)
    # Right after new results: on-call hears of a component going down (or
    # coming back) within one probe interval.
    try:
        oncall.oncall_check(now=now, raised_by="snapshot task")
    except Exception:
        logger.exception("status: on-call check after the snapshot failed")
    return len(components)


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _round(value):
    return None if value is None else round(float(value), 2)


def _upsert(model, key_field: str, rows: dict[tuple[int, object], dict]) -> int:
    """Write computed rollups, touching only rows whose values differ."""
    if not rows:
        return 0
    keys = {key for _, key in rows}
    existing = {
        (r.component_id, getattr(r, key_field)): r
        for r in model.objects.filter(**{f"{key_field}__in": keys, "component_id__in": {c for c, _ in rows}})
    }
    create, update = [], []
    for (component_id, key), values in rows.items():
        row = existing.get((component_id, key))
        if row is None:
            create.append(model(component_id=component_id, **{key_field: key}, **values))
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            update.append(row)
    # A concurrent run may insert the same new row first; the next run corrects any difference.
    model.objects.bulk_create(create, batch_size=500, ignore_conflicts=True)
    model.objects.bulk_update(update, list(model.SUM_FIELDS), batch_size=500)
    return len(create) + len(update)


@transaction.atomic
def rollup_hours(*, start: datetime, end: datetime) -> int:
    """Recompute the hourly rollups of every hour in [start, end) from the
    raw snapshots, then the daily rollups of the days touched from the hourly
    ones. Safe to run twice: values are recomputed from their sources and a
    row is written only when a value differs. Returns rows written."""
    start, end = _hour(start), _hour(end - timedelta(microseconds=1)) + timedelta(hours=1)
    counted = Q(in_maintenance=False)
    hourly = (
        Snapshot.objects.filter(taken_at__gte=start, taken_at__lt=end)
        .annotate(bucket=TruncHour("taken_at", tzinfo=UTC))
        .values("component_id", "bucket")
        .annotate(
            samples=Count("id"),
            observed=Count("id", filter=counted),
            down=Count("id", filter=counted & Q(state=State.DOWN)),
            degraded=Count("id", filter=counted & Q(state=State.DEGRADED)),
            maintenance=Count("id", filter=Q(in_maintenance=True)),
            lat_n=Count("latency_ms"),
            latency_min=Min("latency_ms"),
            latency_avg=Avg("latency_ms"),
            latency_max=Max("latency_ms"),
        )
        .order_by()
    )
    rows = {}
    for r in hourly:
        rows[(r["component_id"], r["bucket"])] = {
            "samples": r["samples"],
            "observed_seconds": r["observed"] * SNAPSHOT_SECONDS,
            "available_seconds": (r["observed"] - r["down"]) * SNAPSHOT_SECONDS,
            "downtime_seconds": r["down"] * SNAPSHOT_SECONDS,
            "degraded_seconds": r["degraded"] * SNAPSHOT_SECONDS,
            "maintenance_seconds": r["maintenance"] * SNAPSHOT_SECONDS,
            "latency_samples": r["lat_n"],
            "latency_min_ms": r["latency_min"],
            "latency_avg_ms": _round(r["latency_avg"]),
            "latency_max_ms": r["latency_max"],
        }
    written = _upsert(HourlyRollup, "hour", rows)
    day_start = start.replace(hour=0)
    day_end = end if end.hour == 0 else end.replace(hour=0) + timedelta(days=1)
    return written + _rollup_days(day_start, day_end)


def _rollup_days(start: datetime, end: datetime) -> int:
    weighted = Case(
        When(latency_samples__gt=0, then=F("latency_avg_ms") * F("latency_samples")),
        default=Value(0.0),
    )
    daily = (
        HourlyRollup.objects.filter(hour__gte=start, hour__lt=end)
        .annotate(bucket=TruncDay("hour", tzinfo=UTC))
        .values("component_id", "bucket")
        .annotate(
            samples=Sum("samples"),
            observed=Sum("observed_seconds"),
            available=Sum("available_seconds"),
            down=Sum("downtime_seconds"),
            degraded=Sum("degraded_seconds"),
            maintenance=Sum("maintenance_seconds"),
            lat_n=Sum("latency_samples"),
            latency_min=Min("latency_min_ms"),
            latency_weighted=Sum(weighted),
            latency_max=Max("latency_max_ms"),
        )
        .order_by()
    )
    rows = {}
    for r in daily:
        n = r["lat_n"] or 0
        rows[(r["component_id"], r["bucket"].astimezone(UTC).date())] = {
            "samples": r["samples"],
            "observed_seconds": r["observed"],
            "available_seconds": r["available"],
            "downtime_seconds": r["down"],
            "degraded_seconds": r["degraded"],
            "maintenance_seconds": r["maintenance"],
            "latency_samples": n,
            "latency_min_ms": r["latency_min"],
            "latency_avg_ms": _round(r["latency_weighted"] / n) if n else None,
            "latency_max_ms": r["latency_max"],
        }
    return _upsert(DailyRollup, "day", rows)


def rollup_recent(*, now: datetime | None = None) -> int:
    """Roll up the last three hours (the current one included). Safe to run twice."""
    now = now or timezone.now()
    return rollup_hours(start=_hour(now) - timedelta(hours=2), end=_hour(now) + timedelta(hours=1))


@transaction.atomic
def snapshots_prune(*, cutoff: datetime, dry_run: bool = False) -> int:
    """Delete raw snapshots older than `cutoff`, rolling up their hours first
    so no measurement is lost (or, with `dry_run`, count them). Idempotent.
    Also compliance's retention handler for "status_raw_snapshots"."""
    # Whole hours only, so no hour is ever left with part of its raw rows.
    cutoff = _hour(cutoff)
    old = Snapshot.objects.filter(taken_at__lt=cutoff)
    if dry_run:
        return old.count()
    oldest = old.order_by("taken_at").values_list("taken_at", flat=True).first()
    if oldest is None:
        return 0
    rollup_hours(start=oldest, end=cutoff)
    return old.delete()[0]


@transaction.atomic
def history_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete raw snapshots past LEVQOR_STATUS_RAW_RETENTION_DAYS (rolled up
    first), hourly rollups past LEVQOR_STATUS_HOURLY_RETENTION_DAYS and daily
    ones past LEVQOR_STATUS_DAILY_RETENTION_DAYS. Safe to run twice."""
    now = now or timezone.now()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    raw_cutoff = today - timedelta(days=settings.LEVQOR_STATUS_RAW_RETENTION_DAYS)
    deleted = {
        "snapshots": snapshots_prune(cutoff=raw_cutoff),
        "runs": SnapshotRun.objects.filter(bucket__lt=raw_cutoff).delete()[0],
        "hourly": HourlyRollup.objects.filter(
            hour__lt=today - timedelta(days=settings.LEVQOR_STATUS_HOURLY_RETENTION_DAYS)
        ).delete()[0],
        "daily": DailyRollup.objects.filter(
            day__lt=(today - timedelta(days=settings.LEVQOR_STATUS_DAILY_RETENTION_DAYS)).date()
        ).delete()[0],
    }
    return deleted


def heartbeat_beat(*, now: datetime | None = None) -> datetime:
    """Record that a worker ran a scheduled task. Safe to run twice (one row)."""
    now = now or timezone.now()
    Heartbeat.objects.update_or_create(name="worker", defaults={"beat_at": now})
    cache_keys.forget_results()
    return now


def external_contact_record(
    *, name: str, ok: bool, latency_ms: int | None = None, error: str = "", at: datetime | None = None
) -> None:
    """Record the result of a real call to an outside service. One UPDATE (an
    INSERT the first time); never raises into the caller. `error` should be
    a short code (e.g. a Stripe error code), never a message with secrets."""
    at = at or timezone.now()
    values = {
        "ok": ok,
        "latency_ms": None if latency_ms is None else max(0, int(latency_ms)),
        "error": "" if ok else str(error)[:200],
        "contacted_at": at,
    }
    if ok:
        values["last_ok_at"] = at
    try:
        with transaction.atomic():
            if not ExternalContact.objects.filter(name=name).update(**values):
                ExternalContact.objects.create(name=name, **values)
    except (DatabaseError, IntegrityError):
        logger.warning("could not record the %s contact result", name, exc_info=True)


def stripe_contact_record(*, ok: bool, latency_ms: int | None = None, error: str = "") -> None:
    """Called (through the `external_contact` signal billing sends) after each
    real Stripe API call: the Stripe component's state comes from it. Cheap; never raises."""
    external_contact_record(name="stripe", ok=ok, latency_ms=latency_ms, error=error)


def email_contact_record(*, ok: bool, latency_ms: int | None = None, error: str = "") -> None:
    """Called (through anymail's post_send signal) after each real send."""
    external_contact_record(name="email", ok=ok, latency_ms=latency_ms, error=error)
