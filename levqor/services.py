"""Project-wide services that belong to no single app."""

from dataclasses import dataclass

from django.db import transaction
from django_q.models import Schedule

from . import schedules


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: list[str]


@transaction.atomic
def schedules_sync(*, jobs: tuple[schedules.Job, ...] = schedules.JOBS) -> SyncResult:
    """Make django-q2's schedules match the registry. Idempotent: a second run
    reports everything unchanged and writes nothing."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError("Duplicate schedule names in the registry.")
    bad = [name for name in names if not name.startswith(schedules.PREFIX)]
    if bad:
        raise ValueError(f"Schedule names must start with {schedules.PREFIX!r}: {bad}")
    created, updated, unchanged = [], [], []
    existing = {s.name: s for s in Schedule.objects.select_for_update().filter(name__startswith=schedules.PREFIX)}
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
