from django.conf import settings

from levqor.lib import correlation

HEADER = "X-Request-ID"


class CorrelationIdMiddleware:
    """Give every request a correlation id (the caller's `X-Request-ID` if it
    is safe, else a new one) and echo it in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Not reset on the way out: Django logs 4xx/5xx responses
        # ("django.request") after the middleware chain returns, and those
        # lines must carry the id too. The request_finished receiver in
        # levqor.lib.correlation clears it once the response is done.
        request.correlation_id = correlation.clean(request.headers.get(HEADER))
        correlation.set(request.correlation_id)
        response = self.get_response(request)
        response[HEADER] = request.correlation_id
        return response


class PermissionsPolicyMiddleware:
    """Send `Permissions-Policy` (browser features this site never uses are
    switched off) on every response; Django's SecurityMiddleware covers
    HSTS, nosniff, referrer and COOP, django-csp the CSP."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "LEVQOR_PERMISSIONS_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.setdefault("Permissions-Policy", self.policy)
        return response
