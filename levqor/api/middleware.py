from django.http import JsonResponse

from levqor.lib.drf.errors import envelope, is_api_request

from .throttling import LIMITS_ATTR


class ApiLimitHeadersMiddleware:
    """Put the caller's remaining quota and burst allowance on every metered
    API response (successes and errors alike)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        limits = getattr(request, LIMITS_ATTR, None)
        if not limits:
            return response
        # Straight into the header store: the names are constant and the
        # values numbers and ISO dates (nothing to check or convert), and
        # through the mapping each costs a dozen calls on every metered call.
        store = response.headers._store
        burst = limits.get("burst")
        if burst is not None:
            store["x-ratelimit-limit"] = ("X-RateLimit-Limit", str(burst.limit))
            store["x-ratelimit-remaining"] = ("X-RateLimit-Remaining", str(burst.remaining))
            store["x-ratelimit-reset"] = ("X-RateLimit-Reset", str(burst.reset_in))
        quota = limits.get("quota")
        if quota is not None:
            limit = "unlimited" if quota.limit is None else str(quota.limit)
            remaining = "unlimited" if quota.remaining is None else str(quota.remaining)
            store["x-quota-limit"] = ("X-Quota-Limit", limit)
            store["x-quota-remaining"] = ("X-Quota-Remaining", remaining)
            store["x-quota-reset"] = ("X-Quota-Reset", _iso(quota.reset_at))
        return response


_formatted: dict = {}


def _iso(at) -> str:
    """`at` as "YYYY-MM-DDTHH:MM:SSZ", remembered: every metered call sends
    its month's reset, which changes once a month (strftime is a tenth of
    this middleware's time)."""
    text = _formatted.get(at)
    if text is None:
        if len(_formatted) > 64:
            _formatted.clear()
        text = _formatted[at] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


# The Statuspage-compatible manage API (status app) answers errors in
# Statuspage's own shape, `{"error": "..."}`, unknown paths included, so
# Statuspage clients read them as they read Statuspage's.
STATUSPAGE_PREFIX = "/api/v1/"


def _statuspage_error(request, response):
    if response.status_code == 405:
        allowed = response.get("Allow", "")
        replacement = JsonResponse({"error": f"Method {request.method} not allowed here."}, status=405)
        if allowed:
            replacement["Allow"] = allowed
        return replacement
    return JsonResponse({"error": f"No Statuspage-compatible endpoint at {request.path}."}, status=404)


class ApiJsonErrorsMiddleware:
    """Every 404 and 405 under /api/ in the API's JSON error format, whether
    DEBUG is on or off: under DEBUG Django answers an unknown URL with its
    HTML debug page (listing every URL pattern), and plain Django views answer
    405 with an empty body. DRF views already answer JSON and pass through."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code not in (404, 405) or not is_api_request(request):
            return response
        if request.path.startswith(STATUSPAGE_PREFIX) and getattr(request, "resolver_match", None) is None:
            return _statuspage_error(request, response)  # no such path (the manage API's own 404s pass)
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            replacement = JsonResponse(
                envelope("method_not_allowed", f"Method {request.method} not allowed here.", {"allowed": allowed}),
                status=405,
            )
            if allowed:
                replacement["Allow"] = allowed
            return replacement
        return JsonResponse(
            envelope("not_found", "No API endpoint or resource at this path.", {"path": request.path}), status=404
        )
