"""The first-response clock every support record runs on (tickets, SLA
credit requests, customer disputes): due `support_sla_hours` of the
account's plan (levqor/plans.py, calendar hours) after it was opened."""

from datetime import datetime, timedelta

from levqor.plans import plan_by_code


def first_response_due(*, plan: str, opened_at: datetime) -> datetime:
    """Opened + the plan's first-response hours, as the locked facts promise."""
    return opened_at + timedelta(hours=plan_by_code(plan).support_sla_hours)


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def clock_text(*, due: datetime, answered_at: datetime | None, now: datetime, waiting: bool = True) -> str:
    """The clock as staff read it: "3 h 20 min left", "breached 2 h 0 min ago",
    "answered in time", "answered late"; "—" for a record nobody waits on."""
    if answered_at is not None:
        return "answered in time" if answered_at <= due else "answered late"
    if not waiting:
        return "—"
    left = (due - now).total_seconds()
    return f"{_span(left)} left" if left > 0 else f"breached {_span(left)} ago"
