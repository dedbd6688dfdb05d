"""Retention of security and consent records (data minimisation), applied
by the daily retention job through compliance's privacy provider. The
generic helpers (client IP, PII hashing, secret-free URLs) are in
levqor.lib.security. Each pruner takes the kind's cutoff and a dry-run flag
and returns how many rows go (or went)."""

from datetime import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db.models import Q, QuerySet

from .models import AbuseSignal, CookieConsent, MarketingSubscription, TermsAcceptance


def _delete(rows: QuerySet, dry_run: bool) -> int:
    return rows.count() if dry_run else rows.delete()[0]


def prune_sign_in_attempts(*, cutoff: datetime, dry_run: bool) -> int:
    """Failed sign-in logs and lockout counters (IP address, browser, username)."""
    return _delete(AccessFailureLog.objects.filter(attempt_time__lt=cutoff), dry_run) + _delete(
        AccessAttempt.objects.filter(attempt_time__lt=cutoff), dry_run
    )


def prune_sign_in_logs(*, cutoff: datetime, dry_run: bool) -> int:
    """Successful sign-in logs (IP address, browser, times)."""
    return _delete(AccessLog.objects.filter(attempt_time__lt=cutoff), dry_run)


def prune_abuse_signals(*, cutoff: datetime, dry_run: bool) -> int:
    return _delete(AbuseSignal.objects.filter(occurred_at__lt=cutoff), dry_run)


def prune_unconfirmed_subscriptions(*, cutoff: datetime, dry_run: bool) -> int:
    """Marketing subscriptions whose confirmation link went unused."""
    rows = MarketingSubscription.objects.filter(status=MarketingSubscription.Status.PENDING, confirm_sent_at__lt=cutoff)
    return _delete(rows, dry_run)


def prune_cookie_consents(*, cutoff: datetime, dry_run: bool) -> int:
    """Cookie choices older than the period: the banner has asked again since."""
    return _delete(CookieConsent.objects.filter(created_at__lt=cutoff), dry_run)


def prune_terms_evidence(*, cutoff: datetime, dry_run: bool) -> int:
    """The IP address and browser of old terms acceptances; the acceptance
    itself (who, which version, when) stays as the contract's record."""
    rows = TermsAcceptance.objects.filter(accepted_at__lt=cutoff).filter(
        Q(ip_address__isnull=False) | ~Q(user_agent="")
    )
    return rows.count() if dry_run else rows.update(ip_address=None, user_agent="")
