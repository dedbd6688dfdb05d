"""Per-IP rate limits for public forms, counted in the shared cache (Redis in
production), so every web process sees the same counts.

    @ratelimit("signin", rate="10/10m")
    def login(request): ...

Only the listed methods count (POST by default): showing a form is free,
submitting it is limited. Over the limit the view is not called and the
friendly 429 page (`templates/429.html`) is returned with `Retry-After`.
For code that is not a Django view (a DRF endpoint, a service), call
`hit(request, scope, rate)` and act on the result.

Windows are fixed (they start at a multiple of their length): cheap, one
cache key per client per window, and at most twice the rate at a boundary.
"""

import functools
import hashlib
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

from .security import client_ip

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/10m' -> (10, 600): at most 10 per 600 seconds."""
    match = _RATE.match(rate.strip())
    if not match:
        raise ValueError(f"Bad rate {rate!r}: use '<count>/<n><s|m|h|d>', e.g. '10/10m'.")
    count, n, unit = match.groups()
    return int(count), int(n or 1) * _UNITS[unit]


@dataclass(frozen=True)
class Result:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets


def hit(request, scope: str, rate: str, *, now: float | None = None) -> Result:
    """Count one request from this client against `scope` and say whether it
    is within `rate`. Safe under concurrency: the cache increments atomically."""
    limit, period = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // period)
    retry_after = max(1, int((window + 1) * period - now))
    if not getattr(settings, "LEVQOR_RATELIMIT_ENABLED", True):
        return Result(True, 0, limit, retry_after)
    ip_digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:24]
    key = f"ratelimit:{scope}:{ip_digest}:{period}:{window}"
    # add() is a no-op if the key exists; incr() is atomic on Redis and locmem.
    cache.add(key, 0, timeout=period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=period + 5)
        count = 1
    return Result(count <= limit, count, limit, retry_after)


def too_many_requests(request, result: Result):
    """The friendly 429 page."""
    minutes = max(1, round(result.retry_after / 60))
    response = render(request, "429.html", {"retry_after": result.retry_after, "minutes": minutes}, status=429)
    response["Retry-After"] = str(result.retry_after)
    return response


def ratelimit(scope: str, *, rate: str, methods: tuple[str, ...] = ("POST",)):
    """Decorate a view: over `rate` (per client IP, per `scope`) it answers 429."""
    parse_rate(rate)  # fail at import time on a typo

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                result = hit(request, scope, rate)
                if not result.allowed:
                    return too_many_requests(request, result)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
