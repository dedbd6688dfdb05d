"""The scheduled django-q2 entry points for workflow runs (`levqor/schedules.py`):
thin wrappers, each named after the service it calls. A run is queued as the
service itself, by reference (`async_task(services.run_execute, run_id=...)`),
so no service imports this module."""

from django.utils import timezone

from . import services


def runs_sweep_stale() -> dict:
    """Scheduled: re-queue lost runs and fail stuck ones. Safe to run twice."""
    return services.runs_sweep_stale(now=timezone.now())
