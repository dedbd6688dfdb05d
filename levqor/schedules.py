"""Every scheduled job, in one registry.

`manage.py sync_schedules` (run by `make run` and on every deploy) makes the
django-q2 `Schedule` table match this list: creates or updates each entry by
name and deletes `levqor:` schedules that are no longer listed. Schedules not
named `levqor:` (added by hand in admin) are left alone. Never call
`django_q.tasks.schedule()` at import time: it raises on a duplicate name.

Cron strings are evaluated by croniter in the server's TIME_ZONE
(https://github.com/pallets-eco/croniter#usage).
"""

from dataclasses import dataclass

PREFIX = "levqor:"


@dataclass(frozen=True)
class Job:
    name: str  # levqor:<app>.<job>
    func: str  # dotted path of the task function
    cron: str
    description: str


JOBS: tuple[Job, ...] = (
    Job(
        name="levqor:compliance.verify_audit_chain",
        func="compliance.tasks.verify_audit_chain",
        cron="17 3 * * *",
        description="Verify the audit trail's hash chain daily; fails loudly if broken.",
    ),
    Job(
        name="levqor:accounts.clear_expired_sessions",
        func="levqor.accounts.tasks.clear_expired_sessions",
        cron="41 4 * * *",
        description="Delete expired sign-in sessions daily.",
    ),
)
