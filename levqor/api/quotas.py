"""Monthly API quotas per plan and the short-window burst limits.

`MONTHLY_QUOTAS` is the one table: the throttle enforces it, `/api-docs`
renders it and the README repeats it. `None` means unlimited. Sandbox keys
share one sandbox quota per account whatever the plan; live keys share the
plan's quota per account. Months are calendar months in UTC.

The monthly counters are kept per account, mode and calendar month, so the
month a call counts in is the one `now()` says: exact at the boundary.
- On the embedded default (no Redis) they are rows in the database
  (`ApiUsage`), one atomic upsert a call that returns the new count: every
  process shares them and a restart loses nothing.
- With Redis (`levqor.api.meter`) the count is an atomic Redis counter per
  (account, mode, month), shared by every process and kept across restarts
  of the web processes; the same `ApiUsage` row is its durable copy,
  written through at least every `LEVQOR_API_QUOTA_FLUSH_SECONDS` while
  calls come and by the minute job for the rest, and read back when Redis
  has lost the counter. Only if Redis itself loses its data (a restart
  without persistence) are the calls since the last write-through forgotten:
  they are never counted twice.
The burst limits are sliding windows (`levqor.lib.window`, or the same log
in `meter`'s script) in the default cache: Redis in production, shared by
every process; local memory on the embedded default.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from levqor.lib import window

from . import meter
from .models import ApiKey, ApiUsage

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


_periods: dict[tuple[int, int], tuple[str, datetime, datetime]] = {}


def period(at: datetime | None = None) -> tuple[str, datetime, datetime]:
    """(label, start, reset) of the calendar month (UTC) containing `at`
    (remembered per month: every metered call asks)."""
    at = at or now()
    month = (at.year, at.month)
    known = _periods.get(month)
    if known is None:
        start = datetime(at.year, at.month, 1, tzinfo=UTC)
        reset = datetime(at.year + (at.month == 12), at.month % 12 + 1, 1, tzinfo=UTC)
        if len(_periods) > 24:
            _periods.clear()
        known = _periods[month] = (f"{at.year:04d}{at.month:02d}", start, reset)
    return known


def day_label(at: datetime) -> str:
    """ "YYYYMMDD" of `at`, the daily usage counter's day."""
    return f"{at.year:04d}{at.month:02d}{at.day:02d}"


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


def _mode(sandbox: bool) -> str:
    return ApiKey.Mode.TEST if sandbox else ApiKey.Mode.LIVE


def _count_call(*, account_id: int, mode: str, month: date) -> int:
    """Add one to the month's counter and return it: a single INSERT ... ON
    CONFLICT DO UPDATE (PostgreSQL and SQLite ≥ 3.35 alike), atomic whatever
    the number of processes, and no read-modify-write race.

    On PostgreSQL the statement is its own transaction with an asynchronous
    commit (`set_config('synchronous_commit', 'off', true)` applies to that
    transaction only): the call does not wait for the WAL flush, and a
    database crash can lose at most the last fraction of a second of counts,
    never corrupt them. Inside a caller's transaction it would apply to the
    whole of it, so there the commit stays synchronous."""
    table = connection.ops.quote_name(ApiUsage._meta.db_table)
    source = "VALUES (%s, %s, %s, 1)"
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        source = "SELECT %s, %s, %s, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, mode, month, calls) {source} "  # noqa: S608 - our table name
            f"ON CONFLICT (account_id, mode, month) DO UPDATE SET calls = {table}.calls + 1 RETURNING calls",
            [account_id, mode, month],
        )
        return cursor.fetchone()[0]


def _write_through(*, account_id: int, mode: str, month: date, calls: int) -> None:
    """Make the month's row at least `calls` (Redis's count): repeated or
    out-of-order writes never lower it. Asynchronous commit on PostgreSQL,
    as in `_count_call`."""
    table = connection.ops.quote_name(ApiUsage._meta.db_table)
    source = "VALUES (%s, %s, %s, %s)"
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        source = "SELECT %s, %s, %s, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
    larger = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, mode, month, calls) {source} "  # noqa: S608 - our table name
            f"ON CONFLICT (account_id, mode, month) DO UPDATE SET calls = {larger}({table}.calls, excluded.calls)",
            [account_id, mode, month, calls],
        )


def _stored_calls(*, account_id: int, mode: str, month: date) -> int:
    row = ApiUsage.objects.filter(account_id=account_id, mode=mode, month=month)
    return row.values_list("calls", flat=True).first() or 0


def _month(label: str) -> date:
    return date(int(label[:4]), int(label[4:6]), 1)


def call_meter(
    *, key_id: int, account_id: int, plan: str, sandbox: bool, burst_limit: int, taken=None
) -> tuple["Burst", Usage]:
    """With Redis: count one call of a key: its burst window, then (if
    allowed) the monthly quota and the key's daily count. `taken`: (time,
    answer) when the call's first round trip already did it
    (`meter.auth_round_trip`); else one round trip now. A call refused by
    the burst window uses no quota (the usage returned is then the month's
    count so far)."""
    at, answer = taken or (now(), None)
    label, start, reset = period(at)
    mode = _mode(sandbox)
    fields = dict(key_id=key_id, account_id=account_id, mode=mode, month=label, day=day_label(at), limit=burst_limit)
    if answer is None:
        answer = meter.meter_round_trip(**fields, now=at.timestamp())
    count, allowed, oldest, calls, flush = answer
    if allowed and calls < 0:  # the month's first call, or Redis lost the counter: start from the row
        stored = _stored_calls(account_id=account_id, mode=mode, month=start.date())
        count, allowed, oldest, calls, flush = meter.meter_round_trip(**fields, now=at.timestamp(), start=str(stored))
    if calls < 0:  # refused, and Redis holds no count: the row's
        calls = _stored_calls(account_id=account_id, mode=mode, month=start.date())
    if flush:
        _write_through(account_id=account_id, mode=mode, month=start.date(), calls=calls)
    burst = burst_from(count=count, allowed=allowed, oldest=oldest, limit=burst_limit, at=at.timestamp())
    return burst, Usage(limit=monthly_limit(plan=plan, sandbox=sandbox), used=calls, reset_at=reset)


def quota_flush() -> int:
    """Write every Redis counter changed since the last sweep to its row (the
    minute job): an account that stopped calling is on disk within a minute.
    Returns the number of rows written."""
    if not meter.enabled():
        return 0  # every call is already a row
    written = 0
    for _ in range(100):  # calls meanwhile add counters back: bounded, the next run takes them
        if not (batch := meter.dirty_take()):
            break
        for member, calls in batch:
            account_id, mode, label = member.split(":")
            try:
                with transaction.atomic():
                    _write_through(account_id=int(account_id), mode=mode, month=_month(label), calls=calls)
                written += 1
            except DatabaseError:  # the account was deleted meanwhile
                continue
    return written


def quota_consume(*, account_id: int, plan: str, sandbox: bool) -> Usage:
    """Count one call against the account's monthly quota (one write)."""
    _label, start, reset = period(now())
    used = _count_call(account_id=account_id, mode=_mode(sandbox), month=start.date())
    return Usage(limit=monthly_limit(plan=plan, sandbox=sandbox), used=used, reset_at=reset)


def quota_peek(*, account_id: int, plan: str, sandbox: bool) -> Usage:
    """The month's usage so far, without counting a call (Redis's count when
    it holds one, else the row)."""
    label, start, reset = period()
    used = meter.counter_get(account_id=account_id, mode=_mode(sandbox), month=label) if meter.enabled() else None
    if used is None:
        used = _stored_calls(account_id=account_id, mode=_mode(sandbox), month=start.date())
    return Usage(limit=monthly_limit(plan=plan, sandbox=sandbox), used=used, reset_at=reset)


@dataclass(frozen=True)
class Burst:
    limit: int
    used: int
    reset_in: int  # seconds until a call is allowed again (the oldest counted one ages out)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


def burst_from(*, count: int, allowed: bool, oldest: float, limit: int, at: float) -> Burst:
    """A Burst from a sliding-window answer taken in a pipeline (`meter`)."""
    return Burst(
        limit=limit,
        used=count if allowed else limit + 1,
        reset_in=window.retry_after(oldest, settings.LEVQOR_API_BURST_WINDOW, at),
    )


def burst_consume(*, scope: str, ident: str, limit: int) -> Burst:
    """Count one call in the sliding window for `scope:ident` (refused calls
    are not counted, so a client that waits `reset_in` gets in)."""
    hit = window.hit(
        f"api:burst:{scope}:{ident}", limit=limit, window=settings.LEVQOR_API_BURST_WINDOW, now=now().timestamp()
    )
    return Burst(limit=limit, used=hit.count, reset_in=hit.retry_after)
