from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@require_safe
@never_cache
def ping(request):
    """Liveness for load balancers: answers without touching the database,
    cache or broker. Readiness and component health live in `status`."""
    return HttpResponse("pong\n", content_type="text/plain")
