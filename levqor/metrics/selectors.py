"""The figures GET /api/metrics/app and /metrics report. Every count comes
from the database or the task broker, never from this process's memory, so
any web process answers with the same figures."""

import logging
import time
from datetime import datetime, timedelta

from django.db.models import Count, Sum
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure

from levqor.assist.models import AiCall
from levqor.lib import backlogs

from .apps import STARTED_AT
from .models import ServerErrorCount, TelemetryCount

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=5)


def queue_depth() -> int | None:
    """Tasks waiting in the django-q2 broker (ORM or Redis); None if it cannot be asked."""
    try:
        return int(get_broker().queue_size() or 0)
    except Exception:
        logger.exception("could not read the task queue's size")
        return None


def errors_since(since: datetime) -> int:
    """5xx answers from minute buckets that start at or after `since`'s minute."""
    start = since.replace(second=0, microsecond=0)
    return ServerErrorCount.objects.filter(minute__gte=start).aggregate(total=Sum("count"))["total"] or 0


def app_metrics(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    since = now - WINDOW
    return {
        "status": "ok",
        "uptime_seconds": max(0, int(time.time() - STARTED_AT)),
        "ai_requests_last_5m": AiCall.objects.filter(created_at__gte=since).count(),
        "errors_last_5m": errors_since(since),
        "queue_depth": queue_depth(),
        "failed_tasks": Failure.objects.count(),
        "failed_tasks_last_24h": Failure.objects.filter(stopped__gte=now - timedelta(hours=24)).count(),
        "backlogs": backlogs.backlog_counts(),
        "generated_at": now,
    }


def totals() -> dict:
    """All-time counters for Prometheus (monotonic: only ever grow)."""
    ai = {
        (row["kind"], row["outcome"]): row["n"]
        for row in AiCall.objects.values("kind", "outcome").annotate(n=Count("id")).order_by()
    }
    cost = AiCall.objects.aggregate(total=Sum("cost_usd"))["total"] or 0
    errors = ServerErrorCount.objects.aggregate(total=Sum("count"))["total"] or 0
    return {"ai_requests": ai, "ai_cost_usd": float(cost), "server_errors": errors}


def telemetry_by_day(*, days: int = 30, now: datetime | None = None) -> tuple[list, dict[str, list[int]]]:
    """(the last `days` dates, {event: [count per date]}) for the admin chart."""
    today = (now or timezone.now()).date()
    dates = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    start = timezone.make_aware(datetime.combine(dates[0], datetime.min.time()), timezone.get_current_timezone())
    series: dict[str, list[int]] = {}
    index = {day: i for i, day in enumerate(dates)}
    for row in TelemetryCount.objects.filter(hour__gte=start).values("event", "hour", "count"):
        day = timezone.localtime(row["hour"]).date()
        if day in index:
            series.setdefault(row["event"], [0] * days)[index[day]] += row["count"]
    return dates, dict(sorted(series.items()))
