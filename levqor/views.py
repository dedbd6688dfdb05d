from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe


@require_safe
@never_cache
def ping(request):
    """Liveness for load balancers: answers without touching the database,
    cache or broker. Readiness and component health live in `status`."""
    return HttpResponse("pong\n", content_type="text/plain")


@cache
def _favicon() -> bytes:
    return (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request):
    """`/favicon.ico`, where browsers (and tabs on pages that do not link
    one, like the API's JSON) look for it. Our own file, no CDN."""
    return HttpResponse(_favicon(), content_type="image/vnd.microsoft.icon")
