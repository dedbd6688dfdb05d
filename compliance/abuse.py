"""Log-only abuse signals: sign-up bursts from one IP, repeated failed
checkouts or card declines for one customer, many small charges (card
testing). Nothing is blocked: each signal is a WARNING log line naming the
client only by `pii_hash`, and a row staff count on the admin index.

    abuse.abuse_signal_record(kind="card_decline", identifier=customer_id, details={...})
    abuse.signup_observed(ip=client_ip(request))   # from the sign-up path

Billing calls `abuse_signal_record` from its Stripe event handlers.
"""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from levqor.lib.security import pii_hash

from .models import AbuseSignal

logger = logging.getLogger("levqor.security")

KINDS = ("signup_burst", "failed_checkout", "card_decline", "card_testing")

# More sign-ups than this from one IP within the window is a burst.
SIGNUP_BURST_THRESHOLD = 3
SIGNUP_BURST_WINDOW = timedelta(hours=1)


def abuse_signal_record(*, kind: str, identifier: str, count: int = 1, details: dict | None = None, now=None):
    """Log one abuse signal (WARNING, hashed identifier) and store it for the
    admin index. `count` is how many events the caller saw in its window.
    Details must not hold raw personal data. Not idempotent: one call per signal."""
    if kind not in KINDS:
        raise ValueError(f"Unknown abuse signal {kind!r}; use one of {', '.join(KINDS)}.")
    digest = pii_hash(str(identifier))
    signal = AbuseSignal.objects.create(
        kind=kind, identifier_hash=digest, count=count, details=details or {}, occurred_at=now or timezone.now()
    )
    logger.warning(
        "abuse signal %s from %s (count %d)",
        kind,
        digest,
        count,
        extra={"abuse_kind": kind, "identifier_hash": digest, "count": count},
    )
    return signal


def signup_observed(*, ip: str, now=None) -> AbuseSignal | None:
    """Count a sign-up from `ip` (in the shared cache). Past the threshold
    within the window, record a `signup_burst` signal: once when the burst
    starts, then again every time the count doubles."""
    now = now or timezone.now()
    window = int(now.timestamp() // SIGNUP_BURST_WINDOW.total_seconds())
    key = f"abuse:signup:{pii_hash(ip)}:{window}"
    cache.add(key, 0, timeout=int(SIGNUP_BURST_WINDOW.total_seconds()) + 60)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=int(SIGNUP_BURST_WINDOW.total_seconds()) + 60)
        count = 1
    over = count - SIGNUP_BURST_THRESHOLD
    if over == 1 or (over > 1 and count & (count - 1) == 0):
        return abuse_signal_record(kind="signup_burst", identifier=ip, count=count, now=now)
    return None


def abuse_signal_count(*, since=None) -> int:
    since = since or timezone.now() - timedelta(hours=24)
    return AbuseSignal.objects.filter(occurred_at__gte=since).count()


def abuse_signal_counts(*, since=None) -> dict[str, int]:
    since = since or timezone.now() - timedelta(hours=24)
    return {kind: AbuseSignal.objects.filter(kind=kind, occurred_at__gte=since).count() for kind in KINDS}
