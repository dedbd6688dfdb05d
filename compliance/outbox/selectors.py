"""Questions about the outbox: what staff must look at, what was sent about
a record (its timeline), and what was sent to a person (DSAR export)."""

from datetime import datetime, timedelta

from django.db import models

from .models import OutboundEmail

Status = OutboundEmail.Status


def failed() -> models.QuerySet:
    """Emails that gave up and nobody has handled: staff decide."""
    return OutboundEmail.objects.filter(status=Status.FAILED, handled_note="")


def failed_count() -> int:
    return failed().count()


def retrying() -> models.QuerySet:
    """Emails whose last attempt failed and that will be tried again."""
    return OutboundEmail.objects.filter(status=Status.QUEUED, attempts__gt=0).exclude(last_error="")


def retrying_count() -> int:
    return retrying().count()


def stuck_count(*, now: datetime) -> int:
    """Emails due for over 15 minutes that nobody has tried: the queue and
    the sweep are both down."""
    return OutboundEmail.objects.filter(
        status=Status.QUEUED, attempts=0, next_attempt_at__lt=now - timedelta(minutes=15)
    ).count()


def emails_about(obj: models.Model) -> models.QuerySet:
    """Every email about one record, newest first (timelines and admin)."""
    return OutboundEmail.objects.filter(about_type=obj._meta.label_lower, about_id=str(obj.pk))


def emails_to(address: str) -> models.QuerySet:
    """Every email to one address (DSAR export, erasure), oldest first."""
    return OutboundEmail.objects.filter(to__iexact=address.strip()).order_by("created_at", "pk")
