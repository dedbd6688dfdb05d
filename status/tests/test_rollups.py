from datetime import UTC, datetime, timedelta

import pytest
from django_q.tasks import async_task, result

from status import selectors, services
from status.models import DailyRollup, HourlyRollup, Snapshot, SnapshotRun, State

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def snap(component, at, state=State.UP, latency=None, maintenance=False):
    return Snapshot.objects.create(
        component=component, taken_at=at, state=state, latency_ms=latency, in_maintenance=maintenance
    )


def rows(model):
    return sorted(
        (r.component_id, getattr(r, "hour", None) or r.day, *(getattr(r, f) for f in model.SUM_FIELDS))
        for r in model.objects.all()
    )


def test_it_turns_a_known_set_of_snapshots_into_a_known_uptime(components):
    web = components["web"]
    # 12 five-minute snapshots: 10 up (latencies 10..100), 1 down, 1 down during maintenance.
    for n in range(10):
        snap(web, HOUR + timedelta(minutes=5 * n), latency=10 * (n + 1))
    snap(web, HOUR + timedelta(minutes=50), State.DOWN)
    snap(web, HOUR + timedelta(minutes=55), State.DOWN, maintenance=True)

    services.rollup_hours(start=HOUR, end=HOUR + timedelta(hours=1))

    hourly = HourlyRollup.objects.get(component=web, hour=HOUR)
    assert (hourly.samples, hourly.observed_seconds, hourly.available_seconds) == (12, 3300, 3000)
    assert (hourly.downtime_seconds, hourly.maintenance_seconds) == (300, 300)
    assert (hourly.latency_min_ms, hourly.latency_avg_ms, hourly.latency_max_ms) == (10, 55.0, 100)
    assert hourly.uptime_percent == pytest.approx(100 * 10 / 11)  # 90.909...%: maintenance excluded
    daily = DailyRollup.objects.get(component=web, day=HOUR.date())
    assert (daily.observed_seconds, daily.available_seconds, daily.downtime_seconds) == (3300, 3000, 300)


def test_it_weights_daily_latency_by_samples_across_hours(components):
    db = components["database"]
    snap(db, HOUR, latency=10)  # hour 1: one sample of 10 ms
    for n in range(3):  # hour 2: three samples of 50 ms
        snap(db, HOUR + timedelta(hours=1, minutes=5 * n), latency=50)
    services.rollup_hours(start=HOUR, end=HOUR + timedelta(hours=2))
    daily = DailyRollup.objects.get(component=db)
    assert daily.latency_avg_ms == 40.0  # (10 + 150) / 4, not (10 + 50) / 2
    assert (daily.latency_min_ms, daily.latency_max_ms, daily.latency_samples) == (10, 50, 4)


def test_rolling_up_twice_changes_nothing(components, stub_probes):
    for minutes in range(0, 120, 5):
        services.snapshot_take(now=HOUR + timedelta(minutes=minutes))
    first = services.rollup_hours(start=HOUR, end=HOUR + timedelta(hours=2))
    before = rows(HourlyRollup), rows(DailyRollup)

    second = services.rollup_hours(start=HOUR, end=HOUR + timedelta(hours=2))

    assert first == 7 * 2 + 7 and second == 0
    assert (rows(HourlyRollup), rows(DailyRollup)) == before


def test_a_late_snapshot_updates_its_hour_and_day(components):
    web = components["web"]
    snap(web, HOUR)
    services.rollup_hours(start=HOUR, end=HOUR + timedelta(hours=1))
    snap(web, HOUR + timedelta(minutes=5), State.DOWN)
    assert services.rollup_recent(now=HOUR + timedelta(minutes=7)) == 2
    assert DailyRollup.objects.get(component=web).downtime_seconds == 300


def test_the_rollup_task_runs_twice_with_one_effect(components, stub_probes):
    services.snapshot_take()
    assert result(async_task("status.tasks.rollup_recent")) == 14
    assert result(async_task("status.tasks.rollup_recent")) == 0


def test_it_prunes_raw_rows_after_retention_and_keeps_daily_rows_400_days(components, settings):
    web = components["web"]
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    old = now - timedelta(days=31)
    snap(web, old, State.DOWN)  # never rolled up: pruning must roll it up first
    SnapshotRun.objects.create(bucket=old)
    snap(web, now - timedelta(days=29))
    HourlyRollup.objects.create(component=web, hour=now - timedelta(days=91))
    DailyRollup.objects.create(component=web, day=(now - timedelta(days=399)).date())
    DailyRollup.objects.create(component=web, day=(now - timedelta(days=401)).date())

    deleted = services.history_prune(now=now)
    again = services.history_prune(now=now)

    assert deleted == {"snapshots": 1, "runs": 1, "hourly": 1, "daily": 1}
    assert again == {"snapshots": 0, "runs": 0, "hourly": 0, "daily": 0}
    assert Snapshot.objects.count() == 1
    assert DailyRollup.objects.get(component=web, day=old.date()).downtime_seconds == 300
    assert DailyRollup.objects.filter(day=(now - timedelta(days=399)).date()).exists()


def test_uptime_over_days_counts_only_measured_time_outside_maintenance(components):
    web = components["web"]
    last = datetime(2026, 11, 20, tzinfo=UTC).date()
    DailyRollup.objects.create(
        component=web, day=last, observed_seconds=86400, available_seconds=86400 - 864, downtime_seconds=864
    )
    DailyRollup.objects.create(
        component=web,
        day=last - timedelta(days=1),
        observed_seconds=86400 - 3600,
        available_seconds=86400 - 3600,
        maintenance_seconds=3600,
    )
    days = selectors.uptime_by_day(component_ids=[web.pk], last_day=last, days=90)[web.pk]

    assert len(days) == 90 and days[-1].day == last and days[0].day == last - timedelta(days=89)
    assert days[-1].uptime == pytest.approx(99.0)
    assert days[-2].uptime == 100.0 and days[0].uptime is None
    assert selectors.uptime_percent(days) == pytest.approx(100 * (86400 * 2 - 3600 - 864) / (86400 * 2 - 3600))


def test_the_prune_task_runs_twice_with_one_effect(components):
    from django.utils import timezone

    snap(components["web"], timezone.now() - timedelta(days=40))
    assert result(async_task("status.tasks.history_prune"))["snapshots"] == 1
    assert result(async_task("status.tasks.history_prune"))["snapshots"] == 0


def test_compliance_retention_prunes_raw_snapshots_through_the_status_provider(components):
    from compliance.dsar import retention

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    snap(components["web"], now - timedelta(days=45), State.DOWN)
    snap(components["web"], now - timedelta(days=1))

    dry = {o.kind: o.counts for o in retention.retention_apply(dry_run=True, now=now)}
    assert dry["status_raw_snapshots"] == {"status": 1}
    retention.retention_apply(now=now)
    again = {o.kind: o.counts for o in retention.retention_apply(now=now)}

    assert again["status_raw_snapshots"] == {"status": 0}
    assert Snapshot.objects.count() == 1
    assert DailyRollup.objects.get(day=(now - timedelta(days=45)).date()).downtime_seconds == 300
