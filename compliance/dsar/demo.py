"""Demo data requests for `manage.py seed_demo` (after compliance.demo).
Idempotent: exports and erasure once any export exists, privacy-centre
requests once any exists."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from . import erasure, exports, privacy_requests
from .deadlines import deadline_fields
from .models import DataExport, PrivacyRequest


def seed(*, admin, stdout) -> None:
    _seed_privacy_requests(stdout=stdout)
    customers = list(get_user_model().objects.filter(account__isnull=False).order_by("email"))
    if DataExport.objects.exists() or not customers:
        return
    now = timezone.now()
    ready = DataExport.objects.create(user=customers[0], **deadline_fields(now - timedelta(days=2)))
    exports.export_build(export_id=ready.pk)  # a real ZIP; the link email goes to the console
    if len(customers) > 1:
        # Received 40 days ago and never answered: shows as overdue in admin.
        received = now - timedelta(days=40)
        DataExport.objects.create(
            user=customers[1],
            **deadline_fields(received),
            status=DataExport.Status.FAILED,
            attempts=3,
            error="Demo: storage unreachable (use the Rebuild action)",
        )
    if len(customers) > 2:
        erasure.erasure_request(user=customers[2], note="Demo: please delete my data.", actor=customers[2])
    stdout.write("Data requests demo: 1 ready export, 1 overdue failed export, 1 erasure request awaiting review.")


def _seed_privacy_requests(*, stdout) -> None:
    """One verified request from someone without an account (in the staff
    queue) and one still awaiting its verification."""
    if PrivacyRequest.objects.exists():
        return
    now = timezone.now()
    for email, kind, verified in [
        ("former.subscriber@example.com", "access", True),
        ("curious@example.com", "objection", False),
    ]:
        request = privacy_requests.privacy_request_submit(
            email=email, kind=kind, details="Demo: what do you hold about me?", now=now - timedelta(days=3)
        )
        if request is not None and verified:
            verified_at = now - timedelta(days=2)
            PrivacyRequest.objects.filter(pk=request.pk).update(
                status=PrivacyRequest.Status.PENDING, verified_at=verified_at, **deadline_fields(verified_at)
            )
    stdout.write("Privacy centre demo: 1 request awaiting staff, 1 awaiting email verification.")
