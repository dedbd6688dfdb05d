"""Recovery analytics for staff: how many failed payments come back, how
fast, how much money is at risk at each dunning stage now, what was
recovered each month and why payments fail. Aggregated in the database (a
few grouped queries and one ordered read for the median), so 100,000 cases
take well under a second (`bench/bench_recovery.py`); rendered as tables and
server-side SVG (`svg_bars`), no JavaScript."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case, Count, F, FloatField, Func, IntegerField, Sum, Value, When
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import stages
from .models import DunningCase
from .statement import money

MONTHS = 12


@dataclass
class Figures:
    since: datetime
    opened: int = 0
    recovered: int = 0
    canceled: int = 0
    pending: int = 0
    median_to_recover: timedelta | None = None
    at_risk: list[dict] = field(default_factory=list)  # stage label, cases, amount, minor, currency
    by_month: list[dict] = field(default_factory=list)  # month, cases, amount, minor, currency
    by_code: list[dict] = field(default_factory=list)  # code, cases

    @property
    def recovery_rate(self) -> float | None:
        """Recovered among the cases that ended (recovered or canceled)."""
        ended = self.recovered + self.canceled
        return self.recovered / ended if ended else None


def _month_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def window_start(now: datetime, months: int = MONTHS) -> datetime:
    """The first day of the month `months - 1` months before now's."""
    start = _month_start(now)
    for _ in range(months - 1):
        start = _month_start(start - timedelta(days=1))
    return start


class SecondsBetween(Func):
    """`later - earlier` in seconds, with the database's own arithmetic
    (Django's portable duration expression runs a Python function per row
    on SQLite: 100,000 of them take seconds). PostgreSQL and SQLite."""

    arity = 2
    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _median_duration(cases, count: int) -> timedelta | None:
    if not count:
        return None
    seconds = (
        cases.annotate(took=SecondsBetween(F("closed_at"), F("opened_at")))
        .order_by("took")
        .values_list("took", flat=True)
    )
    middle = [float(value) for value in seconds[(count - 1) // 2 : count // 2 + 1]]
    return timedelta(seconds=round(sum(middle) / len(middle)))


def recovery_figures(*, now: datetime, months: int = MONTHS) -> Figures:
    since = window_start(now, months)
    cases = DunningCase.objects.filter(opened_at__gte=since, opened_at__lte=now)
    # One grouped pass gives the totals by status and the failures by code.
    figures = Figures(since=since)
    codes: dict[str, int] = {}
    for row in cases.values("status", "decline_code", "failure_code").annotate(cases=Count("pk")).order_by():
        figures.opened += row["cases"]
        status = row["status"]
        if status in ("recovered", "canceled", "pending"):
            setattr(figures, status, getattr(figures, status) + row["cases"])
        code = row["decline_code"] or row["failure_code"] or "unknown"
        codes[code] = codes.get(code, 0) + row["cases"]
    figures.by_code = [{"code": code, "cases": n} for code, n in sorted(codes.items(), key=lambda item: -item[1])]
    recovered = cases.filter(status=DunningCase.Status.RECOVERED, closed_at__isnull=False)
    figures.median_to_recover = _median_duration(recovered, figures.recovered)

    labels = {stage.code: stage.label for stage in stages.STAGES}
    order = {stage.code: n for n, stage in enumerate(stages.STAGES, start=1)}
    risk = (
        DunningCase.objects.filter(status=DunningCase.Status.PENDING)
        .values("stage", "currency")
        .annotate(cases=Count("pk"), minor=Sum("amount_due"))
    )
    for row in sorted(risk, key=lambda row: (order.get(row["stage"], 0), row["currency"])):
        figures.at_risk.append(
            {
                "stage": labels.get(row["stage"], "Just opened (no reminder yet)"),
                "cases": row["cases"],
                "minor": row["minor"] or 0,
                "currency": row["currency"],
                "amount": money(row["minor"] or 0, row["currency"]),
            }
        )

    # Each recovered case's month as a bucket number (a CASE of range
    # tests, no per-row function), grouped with its currency.
    bounds = month_labels(now, months) + [now + timedelta(microseconds=1)]
    bucket = Case(
        *(When(closed_at__lt=bounds[n + 1], then=Value(n)) for n in range(months)),
        default=Value(-1),
        output_field=IntegerField(),
    )
    grouped = (
        DunningCase.objects.filter(status=DunningCase.Status.RECOVERED, closed_at__gte=since, closed_at__lte=now)
        .annotate(bucket=bucket)
        .values("bucket", "currency")
        .annotate(cases=Count("pk"), minor=Sum("amount_due"))
        .order_by()
    )
    rows = []
    for row in grouped:
        if row["bucket"] < 0:
            continue
        minor = row["minor"] or 0
        rows.append(
            {
                "month": bounds[row["bucket"]],
                "cases": row["cases"],
                "minor": minor,
                "currency": row["currency"],
                "amount": money(minor, row["currency"]),
            }
        )
    figures.by_month = sorted(rows, key=lambda row: (row["month"], row["currency"]))

    return figures


def month_labels(now: datetime, months: int = MONTHS) -> list[datetime]:
    """The window's months, oldest first (for charts with a bar per month, empty or not)."""
    first = window_start(now, months)
    out = [first]
    while len(out) < months:
        out.append(_month_start(out[-1] + timedelta(days=32)))
    return out


def svg_bars(*, title: str, rows: list[tuple[str, float, str]], width: int = 640, bar: int = 22):
    """A horizontal bar chart as inline SVG: one (label, value, shown value)
    per row, scaled to the largest. Escaped; no script."""
    top = max((value for _, value, _ in rows), default=0) or 1
    label_w, value_w = 170, 110
    span = width - label_w - value_w
    height = bar * len(rows) + 8
    bars = format_html_join(
        "",
        '<g transform="translate(0,{})"><text x="{}" y="{}" text-anchor="end" font-size="12">{}</text>'
        '<rect x="{}" y="2" width="{}" height="{}" fill="#2f4bd6"><title>{}: {}</title></rect>'
        '<text x="{}" y="{}" font-size="12">{}</text></g>',
        (
            (
                n * bar + 4,
                label_w - 6,
                bar - 8,
                label,
                label_w,
                max(1, round(span * value / top)) if value else 0,
                bar - 6,
                label,
                shown,
                label_w + (round(span * value / top) if value else 0) + 6,
                bar - 8,
                shown,
            )
            for n, (label, value, shown) in enumerate(rows)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" class="chart">{}</svg>',
        title,
        width,
        height,
        width,
        height,
        bars,
    )
