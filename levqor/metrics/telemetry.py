"""Anonymous product telemetry: how often something happens, per hour, and
nothing else. Recorded only for a visitor who consented to analytics cookies
and, when signed in, has not objected to analytics processing.

    telemetry.telemetry_record(request=request, event="roi_calculated")

What is stored is (event, hour, count): no user, no IP address, no cookie
id, no page address. The events are a fixed list, so nothing a visitor
types can end up in a name.
"""

from datetime import datetime

from django.utils import timezone

from compliance import consent, objections

from .counters import bump
from .models import TelemetryCount

EVENTS = {
    "pricing_viewed": "The pricing page was shown.",
    "roi_calculated": "The ROI calculator worked out a saving.",
    "exit_prompt_shown": 'The "Not ready yet?" prompt was shown.',
    "exit_prompt_dismissed": 'The "Not ready yet?" prompt was dismissed.',
    "trial_clicked": "A trial button on the pricing page was pressed.",
}


def telemetry_allowed(request) -> bool:
    """Analytics consent on the cookie banner, and no objection to analytics
    from a signed-in person (the right to object, art. 21 GDPR)."""
    if not consent.allows(request, "analytics"):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return objections.may_process(user, "analytics")
    return True


def telemetry_record(*, request, event: str, now: datetime | None = None) -> bool:
    """Add one to this hour's count of `event` if the visitor allows it.
    Returns whether it was counted. Not idempotent: one call per event."""
    if event not in EVENTS:
        raise ValueError(f"Unknown telemetry event {event!r}.")
    if not telemetry_allowed(request):
        return False
    hour = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    bump(TelemetryCount, event=event, hour=hour)
    return True
