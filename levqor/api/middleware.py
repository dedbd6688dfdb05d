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
        burst = limits.get("burst")
        if burst is not None:
            response["X-RateLimit-Limit"] = str(burst.limit)
            response["X-RateLimit-Remaining"] = str(burst.remaining)
            response["X-RateLimit-Reset"] = str(burst.reset_in)
        quota = limits.get("quota")
        if quota is not None:
            response["X-Quota-Limit"] = "unlimited" if quota.limit is None else str(quota.limit)
            response["X-Quota-Remaining"] = "unlimited" if quota.remaining is None else str(quota.remaining)
            response["X-Quota-Reset"] = quota.reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return response
