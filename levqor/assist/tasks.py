"""The scheduled django-q2 entry point for the assistant (`levqor/schedules.py`)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import services


def ai_calls_prune() -> int:
    """Scheduled daily: delete call records past LEVQOR_AI_CALL_RETENTION_DAYS. Safe to run twice."""
    return services.ai_calls_prune(before=timezone.now() - timedelta(days=settings.LEVQOR_AI_CALL_RETENTION_DAYS))
