from datetime import datetime

from django.db import transaction

from .models import ServerErrorCount, TelemetryCount


@transaction.atomic
def counts_prune(*, telemetry_before: datetime, errors_before: datetime) -> dict:
    """Delete old counters (anonymous aggregates: nothing to audit). Safe to run twice."""
    telemetry, _ = TelemetryCount.objects.filter(hour__lt=telemetry_before).delete()
    errors, _ = ServerErrorCount.objects.filter(minute__lt=errors_before).delete()
    return {"telemetry": telemetry, "server_errors": errors}
