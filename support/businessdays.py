"""Business days for the DFY contract: Monday to Friday, less the bank
holidays in England (the `holidays` package, subdivision ENG, which also
knows substitute days such as Boxing Day observed)."""

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def next_business_day(day: date) -> date:
    """The first business day strictly after `day`."""
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(day: date, count: int) -> date:
    """The `count`-th business day after `day` (0: `day` itself)."""
    for _ in range(count):
        day = next_business_day(day)
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (negative when end is earlier)."""
    if end < start:
        return -business_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_business_day(day)
    return count
