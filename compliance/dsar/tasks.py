"""django-q2 entry points for data requests and retention: thin, each safe to run twice."""

from datetime import timedelta

from django.utils import timezone

from . import erasure, exports, retention
from .models import DataExport


def export_build(export_id: int) -> bool:
    """Build, store and email one export. Safe to run twice (claimed once)."""
    return exports.export_build(export_id=export_id)


def erasure_execute(request_id: int) -> bool:
    """Erase an approved request's person. Safe to run twice; a failure rolls
    back and is kept on the request for staff (who can retry it)."""
    try:
        return erasure.erasure_execute(request_id=request_id)
    except Exception as exc:
        erasure.erasure_failed(request_id=request_id, error=f"{type(exc).__name__}: {exc}")
        raise


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
