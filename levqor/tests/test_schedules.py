import pytest
from django.core.management import call_command
from django_q.models import Schedule
from django_q.tasks import async_task, result

from levqor import schedules
from levqor.lib.schedules import Job, schedules_sync

pytestmark = pytest.mark.django_db


def levqor_schedules():
    return {s.name: s for s in Schedule.objects.filter(name__startswith="levqor:")}


def test_it_creates_every_registered_schedule_once():
    first = schedules_sync(jobs=schedules.JOBS)
    second = schedules_sync(jobs=schedules.JOBS)

    assert sorted(first.created) == sorted(job.name for job in schedules.JOBS)
    assert second.created == second.updated == second.deleted == []
    rows = levqor_schedules()
    assert set(rows) == {job.name for job in schedules.JOBS}
    for job in schedules.JOBS:
        row = rows[job.name]
        assert (row.func, row.schedule_type, row.cron, row.repeats) == (job.func, Schedule.CRON, job.cron, -1)
        assert row.next_run is not None


def test_it_updates_a_changed_schedule_and_prunes_only_levqor_ones():
    schedules_sync(jobs=schedules.JOBS)
    Schedule.objects.create(name="levqor:old.job", func="math.floor", schedule_type=Schedule.DAILY)
    Schedule.objects.create(name="hand-made", func="math.floor", schedule_type=Schedule.DAILY)
    job = schedules.JOBS[0]
    changed = (Job(job.name, job.func, "0 5 * * *", job.description), *schedules.JOBS[1:])

    outcome = schedules_sync(jobs=changed)

    assert outcome.updated == [job.name]
    assert outcome.deleted == ["levqor:old.job"]
    assert levqor_schedules()[job.name].cron == "0 5 * * *"
    assert Schedule.objects.filter(name="hand-made").exists()


def test_it_refuses_a_registry_with_duplicate_or_unprefixed_names():
    job = schedules.JOBS[0]
    with pytest.raises(ValueError, match="Duplicate"):
        schedules_sync(jobs=(job, job))
    with pytest.raises(ValueError, match="must start with"):
        schedules_sync(jobs=(Job("mine", job.func, job.cron, ""),))
    assert levqor_schedules() == {}


def test_every_registered_job_points_at_an_importable_function():
    from django.utils.module_loading import import_string

    for job in schedules.JOBS:
        assert callable(import_string(job.func)), job.func


def test_the_command_reports_what_it_did(capsys):
    call_command("sync_schedules")
    assert f"{len(schedules.JOBS)} created" in capsys.readouterr().out
    call_command("sync_schedules")
    assert "0 created, 0 updated, 0 deleted" in capsys.readouterr().out


def test_registered_tasks_run_through_the_queue_and_twice_safely(customer):
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    session = SessionStore()
    session.create()
    from django.contrib.sessions.models import Session

    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(days=1)
    )

    first = async_task("levqor.accounts.tasks.clear_expired_sessions")
    second = async_task("levqor.accounts.tasks.clear_expired_sessions")

    assert result(first) == 1 and result(second) == 0
    assert "intact" in result(async_task("compliance.tasks.audit_verify"))
