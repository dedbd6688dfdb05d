"""The schedule registry's mechanism: a `Job` names one django-q2 schedule,
and `schedules_sync` makes django-q2's `Schedule` table match a list of them.

`manage.py sync_schedules` (run by `make run` and on every deploy) syncs the
project's list (`levqor/schedules.py`): it creates or updates each entry by
name and deletes `levqor:` schedules that are no longer listed. Schedules not
named `levqor:` (added by hand in admin) are left alone. Never call
`django_q.tasks.schedule()` at import time: it raises on a duplicate name.

Cron strings are evaluated by croniter in the server's TIME_ZONE
(https://github.com/pallets-eco/croniter#usage).
"""

from dataclasses import dataclass

from django.db import transaction
from django_q.models import Schedule

PREFIX = "levqor:"


@dataclass(frozen=True)
class Job:
    name: str  # levqor:<app>.<job>
    func: str  # dotted path of the task function
    cron: str
    description: str


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: list[str]


@transaction.atomic
def schedules_sync(*, jobs: tuple[Job, ...]) -> SyncResult:
    """Make django-q2's schedules match `jobs` (the project's: levqor.schedules.JOBS). Idempotent: a second run
    reports everything unchanged and writes nothing."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError("Duplicate schedule names in the registry.")
    bad = [name for name in names if not name.startswith(PREFIX)]
    if bad:
        raise ValueError(f"Schedule names must start with {PREFIX!r}: {bad}")
    created, updated, unchanged = [], [], []
    existing = {s.name: s for s in Schedule.objects.select_for_update().filter(name__startswith=PREFIX)}
    for job in jobs:
        wanted = {"func": job.func, "schedule_type": Schedule.CRON, "cron": job.cron, "repeats": -1}
        current = existing.get(job.name)
        if current is None:
            Schedule.objects.create(name=job.name, **wanted)
            created.append(job.name)
        elif any(getattr(current, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(current, field, value)
            current.next_run = current.calculate_next_run()
            current.save()
            updated.append(job.name)
        else:
            unchanged.append(job.name)
    stale = sorted(set(existing) - set(names))
    Schedule.objects.filter(name__in=stale).delete()
    return SyncResult(created=created, updated=updated, deleted=stale, unchanged=unchanged)
