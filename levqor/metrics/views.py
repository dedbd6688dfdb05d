from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from levqor.lib.ratelimit import ratelimit

from . import telemetry


# No CSRF token: the pricing page stays cacheable, and the worst a forged
# beacon can do is add one to an anonymous count (allow-listed names, rate
# limited per IP, and only counted with the visitor's own consent cookie).
@csrf_exempt
@require_POST
@ratelimit("telemetry", rate="60/10m")
def telemetry_beacon(request):
    """POST /telemetry with `event=<name>` (a form body, as navigator.sendBeacon
    sends it). 204 whether or not it was counted: the answer says nothing
    about the visitor's choices."""
    event = request.POST.get("event", "")
    if event not in telemetry.EVENTS:
        return HttpResponseBadRequest("Unknown event.\n", content_type="text/plain")
    telemetry.telemetry_record(request=request, event=event)
    return HttpResponse(status=204)
