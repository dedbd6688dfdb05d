"""Demo data requests for `manage.py seed_demo` (called from compliance/demo.py).
Idempotent: does nothing once any export exists."""

from datetime import timedelta

from django.utils import timezone

from . import dsar, erasure
from .dsar_models import DataExport


def _seed_dsar(*, customers: list, admin, stdout) -> None:
    if DataExport.objects.exists() or not customers:
        return
    now = timezone.now()
    ready = DataExport.objects.create(user=customers[0], **dsar.deadline_fields(now - timedelta(days=2)))
    dsar.export_build(export_id=ready.pk)  # a real ZIP; the link email goes to the console
    if len(customers) > 1:
        # Received 40 days ago and never answered: shows as overdue in admin.
        received = now - timedelta(days=40)
        DataExport.objects.create(
            user=customers[1],
            **dsar.deadline_fields(received),
            status=DataExport.Status.FAILED,
            attempts=3,
            error="Demo: storage unreachable (use the Rebuild action)",
        )
    if len(customers) > 2:
        erasure.erasure_request(user=customers[2], note="Demo: please delete my data.", actor=customers[2])
    stdout.write("Data requests demo: 1 ready export, 1 overdue failed export, 1 erasure request awaiting review.")
