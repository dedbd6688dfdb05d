from csp import constants as csp_constants
from csp import middleware as csp_middleware
from csp import utils as csp_utils
from django.conf import settings
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty

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


# Set by django-csp's view decorators: a response carrying any of them needs
# its own policy.
_CSP_PER_RESPONSE = tuple(
    f"_csp_{what}{ro}" for what in ("config", "update", "replace", "exempt") for ro in ("", "_ro")
)


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp, with the common case's headers built once per process.

    django-csp rebuilds both policy strings (enforced and report-only) from
    settings for every response. Unless the view changed the policy
    (decorators), used a nonce, or a URL prefix is excluded, the strings are
    the same every time, so they are built on first use and reused; any
    other response goes through django-csp unchanged."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self._headers: list[tuple[str, str]] | None = None
        self._simple = not any(
            (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES")
            for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        )

    def process_response(self, request, response):
        if (
            not self._simple
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, attr) for attr in _CSP_PER_RESPONSE)
            or csp_constants.HEADER in response
            or csp_constants.HEADER_REPORT_ONLY in response
            or (response.status_code in (404, 500) and settings.DEBUG)
        ):
            return super().process_response(request, response)
        if self._headers is None:
            self._headers = [
                (header, policy)
                for header, policy in (
                    (csp_constants.HEADER, csp_utils.build_policy()),
                    (csp_constants.HEADER_REPORT_ONLY, csp_utils.build_policy(report_only=True)),
                )
                if policy
            ]
        for header, policy in self._headers:
            response[header] = policy
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response


class MessageMiddleware(messages_middleware.MessageMiddleware):
    """Django's messages, with the storage built only when a request uses it.

    Django builds the message storage (a cookie signer and the session
    storage) on every request, though most requests (the API, health,
    status, static pages) neither add nor read a message. Here it is built
    on first use; a request that never used it has nothing to store, as
    Django's own `update()` would find (nothing added, nothing read)."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
