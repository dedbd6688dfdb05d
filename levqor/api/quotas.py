"""Monthly API quotas per plan and the short-window burst limits.

`MONTHLY_QUOTAS` is the one table: the throttle enforces it, `/api-docs`
renders it and the README repeats it. `None` means unlimited. Sandbox keys
share one sandbox quota per account whatever the plan; live keys share the
plan's quota per account. Months are calendar months in UTC.

Counters live in Django's default cache: Redis in production (REDIS_URL),
so every web process on every machine adds to the same count; local memory
on the embedded default (one process).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

SANDBOX = "sandbox"

# (code, label, calls a month or None for unlimited). Business is the top
# plan, sold as "Enterprise" in the quota wording.
MONTHLY_QUOTAS: dict[str, int | None] = {
    SANDBOX: 1_000,
    "starter": 2_000,
    "growth": 5_000,
    "pro": 10_000,
    "business": None,
}
QUOTA_LABELS = {
    SANDBOX: "Sandbox keys (any plan)",
    "starter": "Starter",
    "growth": "Growth",
    "pro": "Pro",
    "business": "Business (Enterprise)",
}


def now() -> datetime:
    return datetime.now(UTC)


def quota_table() -> list[dict]:
    """Rows for the docs: label and limit, sandbox first."""
    return [{"code": code, "label": QUOTA_LABELS[code], "limit": limit} for code, limit in MONTHLY_QUOTAS.items()]


def monthly_limit(*, plan: str, sandbox: bool) -> int | None:
    return MONTHLY_QUOTAS[SANDBOX if sandbox else plan]


def period(at: datetime | None = None) -> tuple[str, datetime, datetime]:
    """(label, start, reset) of the calendar month (UTC) containing `at`."""
    at = at or now()
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    reset = datetime(at.year + (at.month == 12), at.month % 12 + 1, 1, tzinfo=UTC)
    return f"{at.year:04d}{at.month:02d}", start, reset


def _hit(key: str, timeout: int) -> int:
    """Add one to a shared counter and return the new count. `add` is an
    atomic SET NX on Redis, `incr` an atomic INCR, so concurrent processes
    never lose a hit."""
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 0, timeout)
        return cache.incr(key)


@dataclass(frozen=True)
class Usage:
    limit: int | None
    used: int
    reset_at: datetime

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.used > self.limit


def _quota_key(account_id: int, sandbox: bool, label: str) -> str:
    return f"api:quota:{account_id}:{'test' if sandbox else 'live'}:{label}"


def quota_consume(*, account_id: int, plan: str, sandbox: bool) -> Usage:
    """Count one call against the account's monthly quota."""
    at = now()
    label, _start, reset = period(at)
    limit = monthly_limit(plan=plan, sandbox=sandbox)
    timeout = int((reset - at).total_seconds()) + 86_400
    used = _hit(_quota_key(account_id, sandbox, label), timeout)
    return Usage(limit=limit, used=used, reset_at=reset)


def quota_peek(*, account_id: int, plan: str, sandbox: bool) -> Usage:
    """The month's usage so far, without counting a call."""
    label, _start, reset = period()
    used = cache.get(_quota_key(account_id, sandbox, label)) or 0
    return Usage(limit=monthly_limit(plan=plan, sandbox=sandbox), used=int(used), reset_at=reset)


@dataclass(frozen=True)
class Burst:
    limit: int
    used: int
    reset_in: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


def burst_consume(*, scope: str, ident: str, limit: int) -> Burst:
    """Count one call in the current fixed window for `scope:ident`."""
    window = settings.LEVQOR_API_BURST_WINDOW
    at = now().timestamp()
    index = int(at // window)
    reset_in = max(1, int((index + 1) * window - at + 0.999))
    used = _hit(f"api:burst:{scope}:{ident}:{index}", window + 5)
    return Burst(limit=limit, used=used, reset_in=reset_in)
