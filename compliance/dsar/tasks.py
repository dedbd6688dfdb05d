"""The scheduled django-q2 entry points for data requests and retention
(`levqor/schedules.py`), each safe to run twice. Builds and erasures are
queued as the services themselves, by reference (`async_task(export_build,
export_id=...)`), so no service imports this module."""

from django.utils import timezone

from . import erasure, exports, retention


def retention_apply() -> dict:
    """Daily: apply the retention policy. Idempotent."""
    return {o.kind: o.total for o in retention.retention_apply()}


def erasures_retry() -> int:
    """Hourly: retry erasures that failed at an outside processor (e.g. Stripe
    unreachable), up to LEVQOR_ERASURE_AUTO_RETRIES times. Safe to run twice."""
    return erasure.erasures_retry_processor_failures()


def exports_sweep() -> int:
    """Every 15 minutes: re-queue exports the queue lost. Safe to run twice."""
    return exports.exports_sweep(now=timezone.now())
