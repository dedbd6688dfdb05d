import time
from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import http_date
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from levqor.lib.http import LeanResponse

# What Django's never_cache sends (levqor/tests/test_ping.py compares),
# written directly: its parsing and merging is most of this view's cost.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


_expires = (0, "")  # (second, its HTTP date): formatted once a second, not per request


@require_safe
def ping(request):
    """Liveness for load balancers: answers without touching the database,
    cache or broker. Readiness and component health live in `status`.
    Never cached (the headers of never_cache)."""
    global _expires  # noqa: PLW0603 - a per-process memo; a race only formats the same second twice
    response = LeanResponse(b"pong\n", content_type="text/plain")
    now = int(time.time())
    if _expires[0] != now:
        _expires = (now, http_date(now))
    # Straight into the header store: both values are ASCII, checked here once.
    store = response.headers._store
    store["expires"] = ("Expires", _expires[1])
    store["cache-control"] = ("Cache-Control", NEVER_CACHE)
    return response


@cache
def _favicon() -> bytes:
    return (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request):
    """`/favicon.ico`, where browsers (and tabs on pages that do not link
    one, like the API's JSON) look for it. Our own file, no CDN."""
    return HttpResponse(_favicon(), content_type="image/vnd.microsoft.icon")
