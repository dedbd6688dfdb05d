from django.contrib import admin

from levqor.lib.admin import ReadOnlyAdmin

from . import selectors
from .models import ServerErrorCount, TelemetryCount
from .telemetry import EVENTS

CHART_WIDTH = 720
CHART_HEIGHT = 200
PLOT_BOTTOM = 170


def telemetry_chart(*, days: int = 30) -> dict:
    """One small bar chart per event: the last `days` days, as SVG coordinates."""
    dates, series = selectors.telemetry_by_day(days=days)
    slot = CHART_WIDTH / days
    charts = []
    for event in sorted(set(EVENTS) | set(series)):
        counts = series.get(event, [0] * days)
        peak = max([1, *counts])
        bars = []
        for index, (day, count) in enumerate(zip(dates, counts, strict=True)):
            height = round((PLOT_BOTTOM - 10) * count / peak, 1)
            bars.append(
                {
                    "x": round(index * slot + 1, 1),
                    "y": round(PLOT_BOTTOM - height, 1),
                    "width": round(slot - 2, 1),
                    "height": height,
                    "title": f"{day:%-d %b}: {count:,}",
                }
            )
        charts.append(
            {"event": event, "meaning": EVENTS.get(event, ""), "total": sum(counts), "bars": bars, "peak": peak}
        )
    labels = [
        {"x": round(i * slot + slot / 2, 1), "text": f"{day:%-d %b}"} for i, day in enumerate(dates) if i % 7 == 0
    ]
    return {"charts": charts, "labels": labels, "width": CHART_WIDTH, "height": CHART_HEIGHT, "base": PLOT_BOTTOM}


@admin.register(TelemetryCount)
class TelemetryCountAdmin(ReadOnlyAdmin):
    """Anonymous counts (event, hour, count), with the last 30 days charted above the list."""

    change_list_template = "admin/metrics/telemetrycount/change_list.html"
    list_display = ("hour", "event", "count")
    list_filter = ("event",)
    date_hierarchy = "hour"
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context={**(extra_context or {}), **telemetry_chart()})


@admin.register(ServerErrorCount)
class ServerErrorCountAdmin(ReadOnlyAdmin):
    """5xx answers per minute, from every web process."""

    list_display = ("minute", "count")
    date_hierarchy = "minute"
    show_full_result_count = False
