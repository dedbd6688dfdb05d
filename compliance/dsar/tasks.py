"""The scheduled django-q2 entry points for data requests and retention
(`levqor/schedules.py`), each safe to run twice. Builds and erasures are
queued as the services themselves, by reference (`async_task(export_build,
export_id=...)`), so no service imports this module."""

from datetime import timedelta

from django.utils import timezone

from . import exports, retention
from .models import DataExport


def apply_retention() -> dict:
    """Daily: apply the retention policy. Idempotent."""
    return {o.kind: o.total for o in retention.retention_apply()}


def dsar_sweep() -> int:
    """Re-queue exports the queue lost (queued for over 10 minutes, or a
    build abandoned past the retry time). Safe to run twice: the build claims."""
    now = timezone.now()
    lost = DataExport.objects.filter(status=DataExport.Status.QUEUED, requested_at__lt=now - timedelta(minutes=10))
    stale = DataExport.objects.filter(status=DataExport.Status.BUILDING, started_at__lt=now - timedelta(minutes=10))
    ids = list(lost.values_list("pk", flat=True)) + list(stale.values_list("pk", flat=True))
    for export_id in ids:
        exports.enqueue_build(export_id)
    return len(ids)
