"""DSAR export figures: time and peak memory to build the ZIP for a person
whose account has 100,000 run log lines (goal ≤ 30 s, < 200 MB).

Runs in a subprocess on a throwaway SQLite database (tables without
migrations) and a throwaway media folder: time and the process's peak RSS
for one build, then the Python-heap peak (tracemalloc) of a second build.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_ROWS = 100_000


def _measure() -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "levqor.settings")
    import django

    django.setup()
    import tracemalloc

    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from compliance.dsar import exports
    from compliance.dsar.deadlines import deadline_fields
    from compliance.dsar.models import DataExport
    from levqor.accounts.services import account_create
    from levqor.workflows.models import Run, RunLog, Workflow

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    account = account_create(name="Bench Ltd", plan="pro", owner_email="bench@example.test", actor=None)
    user = account.users.get()
    for w in range(10):
        workflow = Workflow.objects.create(account=account, name=f"Bench {w}", steps=[{"type": "transform"}])
        for r in range(10):
            run = Run.objects.create(workflow=workflow, account=account, status="succeeded", payload={"n": r})
            RunLog.objects.bulk_create(
                [
                    RunLog(run=run, seq=i + 1, step="transform", message=f"step done: processed item {i} of the batch")
                    for i in range(LOG_ROWS // 100)
                ]
            )

    def build() -> tuple[DataExport, float]:
        export = DataExport.objects.create(user=user, **deadline_fields(timezone.now()))
        started = time.perf_counter()
        assert exports.export_build(export_id=export.pk)  # noqa: S101 - a bench sanity check
        return export, time.perf_counter() - started

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    export, seconds = build()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    export.refresh_from_db()
    tracemalloc.start()
    build()
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": export.manifest["files"]["logs.json"]["rows"],
        "seconds": seconds,
        "zip_bytes": export.file_size,
        "logs_bytes": export.manifest["files"]["logs.json"]["bytes"],
        "rss_mb": rss_after / 1024,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
        "heap_peak_mb": heap_peak / 1024 / 1024,
    }


def run(ctx) -> bool:
    from bench import lib

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
            **lib.BENCH_ENV,
            "DATABASE_URL": f"sqlite:///{tmp}/dsar-bench.sqlite3",
            "LEVQOR_MEDIA_ROOT": f"{tmp}/media",
        }
        done = subprocess.run(
            [sys.executable, __file__, "measure"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
    if done.returncode:
        print(f"dsar      could not measure the export:\n{done.stderr[-2000:]}")
        return True
    f = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"dsar      export with {f['rows']:,} run log lines: {f['seconds']:.1f} s (goal ≤ 30 s); "
        f"process peak RSS {f['rss_mb']:.0f} MB, grown {f['rss_growth_mb']:.0f} MB by the build (goal < 200 MB); "
        f"Python heap peak {f['heap_peak_mb']:.1f} MB; logs.json {f['logs_bytes'] / 1e6:.1f} MB "
        f"→ ZIP {f['zip_bytes'] / 1e6:.1f} MB"
    )
    return f["seconds"] > 30 or f["rss_mb"] >= 200


if __name__ == "__main__" and sys.argv[1:] == ["measure"]:
    print(json.dumps(_measure()))
