"""SLA credit rules that need no database: periods, the claim window, fees
and the credit tier table (`settings.LEVQOR_SLA_CREDIT_TIERS`)."""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings

from levqor.plans import plan_by_code


@dataclass(frozen=True)
class Period:
    kind: str  # "month" | "day"
    start: date
    end: date  # inclusive

    @property
    def month(self) -> date:
        return self.start.replace(day=1)

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive end, UTC."""
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC) + timedelta(days=1)


def month_period(month: date) -> Period:
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return Period("month", first, last)


def day_period(day: date) -> Period:
    return Period("day", day, day)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def claim_deadline(period: Period) -> date:
    """The last day a claim for the period is accepted: the end of the second
    month after the month the period ends in (March → 31 May)."""
    last_month = add_months(period.end.replace(day=1), 2)
    return last_month.replace(day=calendar.monthrange(last_month.year, last_month.month)[1])


def monthly_fee_minor(*, plan: str, interval: str) -> int:
    """One month's fee in pence: the monthly price, or a twelfth of the yearly one."""
    facts = plan_by_code(plan)
    if interval == "yearly":
        return int(Decimal(facts.yearly * 100) / 12)
    return facts.monthly * 100


def tiers() -> list[tuple[Decimal, int]]:
    """(uptime below this %, credit % of the month's fee), strictest last."""
    return sorted(
        ((Decimal(str(below)), int(percent)) for below, percent in settings.LEVQOR_SLA_CREDIT_TIERS),
        key=lambda t: -t[0],
    )


def credit_percent(uptime_percent: Decimal | float | None) -> int:
    if uptime_percent is None:
        return 0
    uptime = Decimal(str(uptime_percent))
    percent = 0
    for below, pct in tiers():
        if uptime < below:
            percent = max(percent, pct)
    return percent


def suggested_credit_minor(*, uptime_percent, fee_minor: int, already_credited_minor: int = 0) -> int:
    """The tier's share of the month's fee, capped at one month's fee in all."""
    amount = fee_minor * credit_percent(uptime_percent) // 100
    return max(0, min(amount, fee_minor - already_credited_minor))


# How long a worker may hold a claim (email, Stripe credit) before another may take over.
CLAIM_LEASE = timedelta(minutes=10)
