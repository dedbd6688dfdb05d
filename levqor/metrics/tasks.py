"""The scheduled django-q2 entry point for the metrics app (`levqor/schedules.py`)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import services


def counts_prune() -> dict:
    """Scheduled daily: delete telemetry counts past LEVQOR_TELEMETRY_RETENTION_DAYS and
    server-error counts older than 30 days. Safe to run twice."""
    now = timezone.now()
    return services.counts_prune(
        telemetry_before=now - timedelta(days=settings.LEVQOR_TELEMETRY_RETENTION_DAYS),
        errors_before=now - timedelta(days=30),
    )
