import time

from django.apps import AppConfig

# When this web process started: `uptime_seconds` is measured from here.
STARTED_AT = time.time()


class MetricsConfig(AppConfig):
    name = "levqor.metrics"
    label = "metrics"
    verbose_name = "Metrics and telemetry"
