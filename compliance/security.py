"""Pruning of security and consent records (data minimisation). The generic
helpers (client IP, PII hashing, secret-free URLs) are in levqor.lib.security."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.utils import timezone

from .models import AbuseSignal, MarketingSubscription


def security_records_prune(*, now=None) -> dict[str, int]:
    """Delete security and consent records past their use (data
    minimisation): sign-in failure logs and attempts after 30 days, abuse
    signals after 90 days, marketing subscriptions never confirmed after 30
    days. Safe to run twice (the second run finds nothing)."""
    now = now or timezone.now()
    month, quarter = now - timedelta(days=30), now - timedelta(days=90)
    return {
        "failure_logs": AccessFailureLog.objects.filter(attempt_time__lt=month).delete()[0],
        "attempts": AccessAttempt.objects.filter(attempt_time__lt=month).delete()[0],
        "access_logs": AccessLog.objects.filter(attempt_time__lt=quarter).delete()[0],
        "abuse_signals": AbuseSignal.objects.filter(occurred_at__lt=quarter).delete()[0],
        "unconfirmed_subscriptions": MarketingSubscription.objects.filter(
            status=MarketingSubscription.Status.PENDING, confirm_sent_at__lt=month
        ).delete()[0],
    }
