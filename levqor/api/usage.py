"""Calls per key per day, beside the account's monthly quota.

The quota (levqor/api/quotas.py) counts calls per account and mode, which is
what limits them. This counts the same calls per key and UTC day, so
GET /api/usage and the chart on /account/api-keys can say which key made
them. The counters live in the same shared cache as the quota counters and
are kept for 40 days.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache

from . import quotas
from .models import ApiKey

KEEP_SECONDS = 40 * 86_400


def _key(key_id: int, day: date) -> str:
    return f"api:usage:key:{key_id}:{day:%Y%m%d}"


def usage_record(*, key_id: int, at: datetime | None = None) -> None:
    """Count one call for this key today (UTC). `add` then `incr` are atomic
    in Redis, so processes never lose a count. Not idempotent."""
    name = _key(key_id, (at or quotas.now()).date())
    if not cache.add(name, 1, KEEP_SECONDS):
        try:
            cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, KEEP_SECONDS)


def month_days(at: datetime | None = None) -> list[date]:
    """Every day of the calendar month (UTC) up to and including today."""
    _label, start, _reset = quotas.period(at)
    today = (at or quotas.now()).date()
    return [start.date() + timedelta(days=n) for n in range((today - start.date()).days + 1)]


def daily_calls(*, keys: list[ApiKey], days: list[date]) -> dict[int, list[int]]:
    """{key id: [calls on each day]} in one cache round trip."""
    names = {(key.pk, day): _key(key.pk, day) for key in keys for day in days}
    found = cache.get_many(list(names.values()))
    return {key.pk: [int(found.get(names[(key.pk, day)], 0)) for day in days] for key in keys}


@dataclass(frozen=True)
class Pool:
    mode: str
    usage: quotas.Usage


def account_usage(*, account, keys: list[ApiKey], at: datetime | None = None) -> dict:
    """This month's calls for the account (per mode, from the quota counters)
    and per key, with each day's calls for the chart."""
    label, start, reset = quotas.period(at)
    days = month_days(at)
    pools = {
        mode: quotas.quota_peek(account_id=account.pk, plan=account.plan, sandbox=mode == ApiKey.Mode.TEST)
        for mode in (ApiKey.Mode.LIVE, ApiKey.Mode.TEST)
    }
    per_key = daily_calls(keys=keys, days=days)
    rows = []
    for key in keys:
        pool = pools[key.mode]
        rows.append(
            {
                "key": key,
                "used": sum(per_key[key.pk]),
                "limit": pool.limit,
                "remaining": pool.remaining,
            }
        )
    daily = [
        {
            "date": day,
            "live": sum(per_key[k.pk][i] for k in keys if k.mode == ApiKey.Mode.LIVE),
            "sandbox": sum(per_key[k.pk][i] for k in keys if k.mode == ApiKey.Mode.TEST),
        }
        for i, day in enumerate(days)
    ]
    return {"period": label, "period_start": start, "reset_at": reset, "pools": pools, "keys": rows, "daily": daily}


# --- the chart ------------------------------------------------------------------------

CHART_WIDTH = 640
CHART_HEIGHT = 160
PLOT_TOP = 10
PLOT_BOTTOM = 130


def usage_chart(daily: list[dict], *, days_in_month: int = 31) -> dict:
    """Bars (live and sandbox side by side, one pair a day) as SVG coordinates,
    scaled to the busiest day. Drawn by templates/api/_usage.html."""
    peak = max([1, *(row["live"] for row in daily), *(row["sandbox"] for row in daily)])
    slot = CHART_WIDTH / max(days_in_month, len(daily), 1)
    bar = max(1.0, slot / 2 - 1)
    height = PLOT_BOTTOM - PLOT_TOP
    bars = []
    for index, row in enumerate(daily):
        x = index * slot
        for offset, series in ((0.0, "live"), (bar, "sandbox")):
            h = round(height * row[series] / peak, 1)
            bars.append(
                {
                    "series": series,
                    "x": round(x + offset, 1),
                    "y": round(PLOT_BOTTOM - h, 1),
                    "width": round(bar, 1),
                    "height": h,
                    "title": f"{row['date']:%-d %b}: {row[series]:,} {series} call{'s' if row[series] != 1 else ''}",
                }
            )
    labels = [
        {"x": round(i * slot + bar, 1), "text": f"{row['date']:%-d}"}
        for i, row in enumerate(daily)
        if i == 0 or (i + 1) % 7 == 0
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bars": bars,
        "labels": labels,
        "peak": peak,
        "base": PLOT_BOTTOM,
    }
