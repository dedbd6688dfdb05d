"""Server-rendered SVG: 90-day uptime bars and latency/availability charts.

Plain strings, built in one pass (the bars for 7 components render in well
under a millisecond each); every value that comes from data is escaped.
No JavaScript: hover text is SVG `<title>`.
"""

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from .selectors import Day, HourPoint

BAR_COLOURS = (
    # (uptime at least, colour, label)
    (100.0, "#1e7a3a", "no downtime"),
    (99.0, "#9bbf2f", "minor downtime"),
    (95.0, "#e0a100", "partial outage"),
    (0.0, "#c8321e", "major outage"),
)
NO_DATA = "#c9ced6"


def bar_colour(uptime: float | None) -> tuple[str, str]:
    if uptime is None:
        return NO_DATA, "no data"
    for floor, colour, label in BAR_COLOURS:
        if uptime >= floor:
            return colour, label
    return BAR_COLOURS[-1][1], BAR_COLOURS[-1][2]


def format_percent(value: float | None) -> str:
    if value is None:
        return "no data"
    if value >= 100.0:
        return "100%"
    # Never round a bad day up to a perfect one.
    return f"{min(value, 99.99):.2f}%"


def _duration(seconds: int) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def uptime_bars(days: list[Day], *, name: str, uptime: float | None) -> SafeString:
    """One bar per day, coloured by downtime, hover text with the day's uptime."""
    step, width, height = 5, 4, 34
    parts = [
        f'<svg class="uptime-bars" viewBox="0 0 {len(days) * step - 1} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(name)}: {format_percent(uptime)} uptime over {len(days)} days" '
        f'data-days="{len(days)}">'
    ]
    for index, day in enumerate(days):
        colour, label = bar_colour(day.uptime)
        text = f"{day.day:%-d %b %Y}: {format_percent(day.uptime)} uptime"
        if day.downtime_seconds:
            text += f", {_duration(day.downtime_seconds)} down"
        if day.maintenance_seconds:
            text += f", {_duration(day.maintenance_seconds)} maintenance"
        if day.uptime is None:
            text = f"{day.day:%-d %b %Y}: no data"
        parts.append(
            f'<rect class="bar" x="{index * step}" y="0" width="{width}" height="{height}" rx="1" fill="{colour}" '
            f'data-day="{day.day.isoformat()}" data-level="{label}"><title>{escape(text)}</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data value above is escaped


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE))


def latency_chart(rows: list[tuple[str, list[HourPoint]]], *, window: str, title: str, tick_every: int) -> SafeString:
    """Small multiples, one row per component: hourly average latency as a
    line (scaled to the row's own peak) over the hour's availability as a
    band (green all up, amber/red with downtime, grey unmeasured)."""
    label_w, plot_w, row_h, gap = 190, 560, 44, 10
    hours = len(rows[0][1]) if rows else 0
    width = label_w + plot_w + 10
    height = len(rows) * (row_h + gap) + 24
    step = plot_w / max(hours, 1)
    out = [
        f'<svg class="chart" data-window="{escape(window)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-{escape(window)}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{escape(window)}-title">{escape(title)}</title>',
    ]
    for row, (name, points) in enumerate(rows):
        top = row * (row_h + gap)
        measured = [p.latency_ms for p in points if p.latency_ms is not None]
        peak = max(measured) if measured else 0
        up = [p.uptime for p in points if p.uptime is not None]
        avg = sum(measured) / len(measured) if measured else None
        summary = f"{format_percent(sum(up) / len(up) if up else None)}"
        if avg is not None:
            summary += f" · avg {avg:.0f} ms · peak {peak:.0f}"
        out.append(f'<g class="chart-row" data-component="{escape(name)}">')
        out.append(f'<text x="0" y="{top + 18}" class="chart-label">{escape(name)}</text>')
        out.append(f'<text x="0" y="{top + 36}" class="chart-sub">{escape(summary)}</text>')
        for index, point in enumerate(points):
            colour, _ = bar_colour(point.uptime)
            when = _local(point.hour)
            tip = f"{when:%-d %b %H:00}: {format_percent(point.uptime)} available"
            if point.latency_ms is not None:
                tip += f", {point.latency_ms:.0f} ms average"
            out.append(
                f'<rect class="band" x="{label_w + index * step:.1f}" y="{top + row_h - 6}" '
                f'width="{max(step - 0.5, 0.5):.1f}" height="6" fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
        coords = []
        for index, point in enumerate(points):
            if point.latency_ms is None or not peak:
                if len(coords) > 1:
                    out.append(_polyline(coords))
                coords = []
                continue
            x = label_w + index * step + step / 2
            y = top + (row_h - 10) - (point.latency_ms / peak) * (row_h - 14)
            coords.append(f"{x:.1f},{y:.1f}")
        if len(coords) > 1:
            out.append(_polyline(coords))
        elif len(coords) == 1:
            x, y = coords[0].split(",")
            out.append(f'<circle cx="{x}" cy="{y}" r="1.5" fill="#2f4bd6"/>')
        out.append("</g>")
    if hours:
        axis_y = height - 6
        first, last = rows[0][1][0].hour, rows[0][1][-1].hour
        for index in range(0, hours, tick_every):
            moment = _local(rows[0][1][index].hour)
            label = f"{moment:%H:00}" if tick_every < 24 else f"{moment:%a %-d}"
            out.append(f'<text x="{label_w + index * step:.1f}" y="{axis_y}" class="chart-axis">{label}</text>')
        out.append(f"<desc>From {_local(first):%-d %b %H:00} to {_local(last):%-d %b %H:00} {_local(last):%Z}</desc>")
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every data value above is escaped


def _polyline(coords: list[str]) -> str:
    return f'<polyline class="latency" fill="none" stroke="#2f4bd6" stroke-width="1.5" points="{" ".join(coords)}"/>'
