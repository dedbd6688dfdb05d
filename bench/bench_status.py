"""Status figure: the time to render the 90-day uptime bars from one year of
5-minute snapshots for 7 components (goal < 100 ms), and the whole /status
context. (The health endpoint's and the page's throughput are in the hot
path table, `bench/hotpaths.py`.)

The history lives in a throwaway SQLite database built by this file run as
a script (`prepare`): tables without migrations, a year of raw snapshots,
rolled up exactly as the scheduled job does.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YEAR_BUCKETS = 365 * 24 * 12  # 5-minute snapshots in a year


def _prepare() -> dict:
    """Runs in a subprocess with DATABASE_URL pointing at an empty file."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "levqor.settings")
    import django

    django.setup()
    from datetime import UTC, timedelta

    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from status import cache_keys, charts, selectors, services
    from status.models import Component, Snapshot, State
    from status.views import _uptime_table, status_page_context

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    services.components_ensure()
    services.heartbeat_beat()
    components = list(Component.objects.filter(is_group=False))

    now = timezone.now()
    start = services.bucket_of(now) - timedelta(minutes=5 * (YEAR_BUCKETS - 1))
    started = time.perf_counter()
    for component in components:
        batch = []
        for n in range(YEAR_BUCKETS):
            down = n % 2016 == 7  # one 5-minute outage a week per component
            batch.append(
                Snapshot(
                    component=component,
                    taken_at=start + timedelta(minutes=5 * n),
                    state=State.DOWN if down else State.UP,
                    latency_ms=None if down else 20 + n % 17,
                )
            )
            if len(batch) == 10_000:
                Snapshot.objects.bulk_create(batch)
                batch = []
        Snapshot.objects.bulk_create(batch)
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    services.rollup_hours(start=start, end=now)
    rolled = time.perf_counter() - started
    Component.objects.update(checked_at=now, latency_ms=25)

    def render_bars() -> str:
        last_day = timezone.now().astimezone(UTC).date()
        ids = [c.pk for c in components]
        days = selectors.uptime_by_day(component_ids=ids, last_day=last_day, days=90)
        return "".join(
            charts.uptime_bars(days[c.pk], name=c.name, uptime=selectors.uptime_percent(days[c.pk])) for c in components
        )

    def timed(fn, runs=30) -> float:
        fn()  # warm-up
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        return sorted(samples)[len(samples) // 2] * 1000

    def history_first_page() -> None:
        # What /status/history reads uncached: the page's months and the
        # 12-month uptime table (one aggregate over the daily rollups).
        selectors.history_page(number=1)
        cache_keys.forget_results()  # the table is kept under the status generation: measure the build
        _uptime_table(now=timezone.now())

    html = render_bars()
    assert html.count('<rect class="bar"') == 7 * 90  # noqa: S101 - a bench sanity check
    return {
        "snapshots": Snapshot.objects.count(),
        "insert_s": inserted,
        "rollup_s": rolled,
        "bars_ms": timed(render_bars),
        "context_ms": timed(lambda: status_page_context(), runs=10),
        "history_ms": timed(history_first_page, runs=10),
    }


def run(ctx) -> bool:
    from bench import lib

    with tempfile.TemporaryDirectory() as tmp:
        env = {**lib.BENCH_ENV, "DATABASE_URL": f"sqlite:///{tmp}/status-bench.sqlite3"}
        prepared = subprocess.run(
            [sys.executable, __file__, "prepare"],
            cwd=ROOT,
            env={**{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, **env},
            capture_output=True,
            text=True,
            check=False,
        )
    if prepared.returncode:
        print(f"status    could not prepare the history database:\n{prepared.stderr[-2000:]}")
        return True
    figures = json.loads(prepared.stdout.strip().splitlines()[-1])
    print(
        f"status    90-day bars for 7 components from one year of 5-minute snapshots "
        f"({figures['snapshots']:,} rows, rolled up in {figures['rollup_s']:.1f} s): "
        f"{figures['bars_ms']:.1f} ms median (goal < 100 ms); whole /status context {figures['context_ms']:.1f} ms; "
        f"/status/history's months and 12-month uptime table {figures['history_ms']:.1f} ms (goal < 100 ms)"
    )
    return figures["bars_ms"] >= 100 or figures["history_ms"] >= 100


if __name__ == "__main__" and sys.argv[1:] == ["prepare"]:
    print(json.dumps(_prepare()))
