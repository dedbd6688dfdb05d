from django.contrib.sessions.models import Session
from django.utils import timezone


def clear_expired_sessions() -> int:
    """Delete expired sessions. Safe to run twice (the second run finds none)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
