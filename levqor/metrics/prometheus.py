"""GET /metrics: the app metrics in Prometheus' text format, rendered by the
official client library (prometheus_client) from a collector that reads the
database on each scrape. Nothing is counted in this process's memory, so
every web process serves the same totals (no multiprocess-mode files)."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import auth, selectors


class AppCollector:
    def collect(self):
        figures = selectors.app_metrics()
        totals = selectors.totals()
        yield GaugeMetricFamily("levqor_up", "1 while the app answers.", value=1)
        yield GaugeMetricFamily(
            "levqor_uptime_seconds", "Seconds since this web process started.", value=figures["uptime_seconds"]
        )
        yield GaugeMetricFamily(
            "levqor_ai_requests_last_5m", "Assistant calls in the last 5 minutes.", value=figures["ai_requests_last_5m"]
        )
        yield GaugeMetricFamily(
            "levqor_errors_last_5m", "5xx answers in the last 5 minutes.", value=figures["errors_last_5m"]
        )
        if figures["queue_depth"] is not None:
            yield GaugeMetricFamily("levqor_queue_depth", "Tasks waiting in the queue.", value=figures["queue_depth"])
        yield GaugeMetricFamily("levqor_failed_tasks", "Failed tasks kept by the queue.", value=figures["failed_tasks"])
        backlog = GaugeMetricFamily("levqor_backlog", "Work waiting, by backlog.", labels=["backlog"])
        for name, count in figures["backlogs"].items():
            if count is not None:
                backlog.add_metric([name], count)
        yield backlog
        ai = CounterMetricFamily("levqor_ai_requests", "Assistant calls.", labels=["kind", "outcome"])
        for (kind, outcome), count in sorted(totals["ai_requests"].items()):
            ai.add_metric([kind, outcome], count)
        yield ai
        yield CounterMetricFamily("levqor_ai_cost_usd", "What model providers charged.", value=totals["ai_cost_usd"])
        yield CounterMetricFamily("levqor_http_server_errors", "5xx answers.", value=totals["server_errors"])


@require_safe
@never_cache
def metrics(request):
    """Token-protected: 404 while LEVQOR_METRICS_TOKEN is unset, 401 without it."""
    if not settings.LEVQOR_METRICS_TOKEN:
        raise Http404("Metrics are off: set LEVQOR_METRICS_TOKEN.")
    if not auth.has_metrics_token(request):
        response = HttpResponse("Send Authorization: Bearer <LEVQOR_METRICS_TOKEN>.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="Levqor metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
