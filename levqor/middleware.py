from . import correlation

HEADER = "X-Request-ID"


class CorrelationIdMiddleware:
    """Give every request a correlation id (the caller's `X-Request-ID` if it
    is safe, else a new one) and echo it in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.correlation_id = correlation.clean(request.headers.get(HEADER))
        token = correlation.set(request.correlation_id)
        try:
            response = self.get_response(request)
        finally:
            correlation.reset(token)
        response[HEADER] = request.correlation_id
        return response
