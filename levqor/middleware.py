from csp import constants as csp_constants
from csp import middleware as csp_middleware
from csp import utils as csp_utils
from django.conf import settings
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.middleware import clickjacking, common, security
from django.urls import Resolver404, resolve
from django.utils.functional import SimpleLazyObject, empty
from django.utils.module_loading import import_string

from levqor.lib import correlation
from levqor.lib.http import header_entries, headers_add

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"  # the same header, as WSGI passes it


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
        # META, not request.headers: building the headers mapping parses every
        # header's name, a seventh of a /-/ping's time.
        request.correlation_id = correlation.clean(request.META.get(META_KEY))
        correlation.set(request.correlation_id)
        response = self.get_response(request)
        # Straight into the header store: the id is plain ASCII without
        # newlines (correlation.clean), so Django's checks have nothing to do.
        response.headers._store["x-request-id"] = (HEADER, request.correlation_id)
        return response


class PermissionsPolicyMiddleware:
    """Send `Permissions-Policy` (browser features this site never uses are
    switched off) on every response; Django's SecurityMiddleware covers
    HSTS, nosniff, referrer and COOP, django-csp the CSP."""

    def __init__(self, get_response):
        self.get_response = get_response
        policy = getattr(settings, "LEVQOR_PERMISSIONS_POLICY", "")
        self.entries = header_entries(("Permissions-Policy", policy)) if policy else []

    def __call__(self, request):
        response = self.get_response(request)
        headers_add(response, self.entries)
        return response


# Set by django-csp's view decorators: a response carrying any of them needs
# its own policy.
_CSP_PER_RESPONSE = frozenset(
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
        self._headers: list | None = None
        self._simple = not any(
            (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES")
            for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
        )

    def process_response(self, request, response):
        if (
            not self._simple
            or getattr(request, "_csp_nonce", None) is not None
            or not _CSP_PER_RESPONSE.isdisjoint(vars(response))  # the decorators set them on the response
            or csp_constants.HEADER.lower() in response.headers._store
            or csp_constants.HEADER_REPORT_ONLY.lower() in response.headers._store
            or (response.status_code in (404, 500) and settings.DEBUG)
        ):
            return super().process_response(request, response)
        if self._headers is None:
            self._headers = header_entries(
                *(
                    (header, policy)
                    for header, policy in (
                        (csp_constants.HEADER, csp_utils.build_policy()),
                        (csp_constants.HEADER_REPORT_ONLY, csp_utils.build_policy(report_only=True)),
                    )
                    if policy
                )
            )
        headers_add(response, self._headers, replace=True)
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response


class SecurityMiddleware(security.SecurityMiddleware):
    """Django's, with its response headers checked and converted once per
    process (through the header mapping each costs a dozen calls on every
    response). The same headers, in the same order, under the same
    conditions: HSTS on a secure request without one, then nosniff,
    Referrer-Policy and COOP where absent. The fast lane's (FAST_EQUIVALENTS)."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self._hsts = []
        if self.sts_seconds:
            value = f"max-age={self.sts_seconds}"
            value += "; includeSubDomains" if self.sts_include_subdomains else ""
            value += "; preload" if self.sts_preload else ""
            self._hsts = header_entries(("Strict-Transport-Security", value))
        policy = self.referrer_policy
        if policy and isinstance(policy, str):
            policy = ",".join(v.strip() for v in policy.split(","))
        elif policy:
            policy = ",".join(policy)
        self._defaults = header_entries(
            *(
                (name, value)
                for name, value in (
                    ("X-Content-Type-Options", "nosniff" if self.content_type_nosniff else ""),
                    ("Referrer-Policy", policy),
                    ("Cross-Origin-Opener-Policy", self.cross_origin_opener_policy),
                )
                if value
            )
        )

    def process_response(self, request, response):
        if self._hsts and request.is_secure():
            headers_add(response, self._hsts)
        headers_add(response, self._defaults)
        return response


class XFrameOptionsMiddleware(clickjacking.XFrameOptionsMiddleware):
    """Django's, with the header converted once per value of the setting.
    The fast lane's (FAST_EQUIVALENTS)."""

    _entries: dict = {}

    def process_response(self, request, response):
        store = response.headers._store
        if "x-frame-options" in store or getattr(response, "xframe_options_exempt", False):
            return response
        value = self.get_xframe_options_value(request, response)
        entries = self._entries.get(value)
        if entries is None:
            entries = self._entries[value] = header_entries(("X-Frame-Options", value))
        headers_add(response, entries)
        return response


class CommonMiddleware(common.CommonMiddleware):
    """Django's, writing `Content-Length` straight into the header store (a
    number: nothing to check or convert). The fast lane's (FAST_EQUIVALENTS)."""

    def process_response(self, request, response):
        if response.status_code == 404 or response.streaming:
            return super().process_response(request, response)
        store = response.headers._store
        if "content-length" not in store:
            store["content-length"] = ("Content-Length", str(len(response.content)))
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


# Middleware the fast lane leaves out, each because it provably has nothing
# to do for a cookie-less GET or HEAD of a fast path (see FastLaneMiddleware):
SKIPPED_ON_THE_FAST_LANE = frozenset(
    {
        # Serves only files under STATIC_URL (no WHITENOISE_ROOT is set: checked below).
        "whitenoise.middleware.WhiteNoiseMiddleware",
        # No (session) cookie: no session key, and the views never touch request.session,
        # so the session is neither accessed, saved nor deleted (no Set-Cookie,
        # no Vary: Cookie).
        "django.contrib.sessions.middleware.SessionMiddleware",
        # GET and HEAD are accepted without a token, and no fast view asks for
        # one (get_token), so no CSRF cookie is ever set; Stripe's webhook view
        # is csrf_exempt.
        "django.middleware.csrf.CsrfViewMiddleware",
        # request.user is lazy and no fast view reads it (the status API's DRF
        # views set their own AnonymousUser: no authentication classes; the
        # key-authenticated API sets the key's principal: no session auth).
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        # Nothing is added or read: nothing to store.
        "levqor.middleware.MessageMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        # "/-/" and "/api/" are exempt from the terms gate before it reads
        # anything (compliance.middleware.EXEMPT_PREFIXES; a test holds this);
        # on a page, a cookie-less visitor is anonymous, whom it never stops.
        "compliance.middleware.TermsGateMiddleware",
        # Acts only on a request an authentication attempt flagged as locked
        # out; axes guards the sign-in forms, not API keys.
        "axes.middleware.AxesMiddleware",
    }
)

# Django's middleware the fast lane runs as these equivalents: the same
# headers under the same conditions, converted once per process. The full
# stack keeps Django's own (its deploy checks look for them by name), and
# tests/integration/test_fast_lane.py compares the two stacks' answers byte
# for byte.
FAST_EQUIVALENTS = {
    "django.middleware.security.SecurityMiddleware": "levqor.middleware.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware": "levqor.middleware.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "levqor.middleware.XFrameOptionsMiddleware",
}

# The public, cookie-less hot paths: load-balancer liveness and the status
# API monitors poll (issue 18).
FAST_PATHS = ("/-/ping", "/api/status/health", "/api/v2/summary.json")
# The key-authenticated reads integrations poll (no cookie: API clients).
FAST_API_PATHS = ("/api/workflows",)
# Public pages, first visits of which are the flood during an incident: the
# same short stack, but with CSRF (their forms carry a token, and its cookie
# is set for the visitor).
FAST_PAGE_PATHS = ("/status",)
KEPT_FOR_PAGES = frozenset({"django.middleware.csrf.CsrfViewMiddleware"})
# Stripe's signed webhook deliveries (POSTs without cookies; the view is
# csrf_exempt, reads no session or user, and the terms gate exempts the
# prefix): the same short stack, the URL resolved as usual (it carries the
# endpoint's id).
FAST_POST_PREFIX = "/stripe/webhook/"
# Paths whose resolution a lane remembers (the webhook's: one per endpoint);
# forgotten all at once when full.
ROUTES_KEPT = 256


class _LeanHandler(BaseHandler):
    """The middleware after the fast lane minus SKIPPED_ON_THE_FAST_LANE, in
    the same order (Django's by their FAST_EQUIVALENTS), around the view resolved once per process and path
    (`routes`, given or filled as paths come, at most ROUTES_KEPT; None:
    resolved as usual): Django's own
    request cycle (view, template-response and exception middleware, atomic
    requests, 500 handling) with less in it."""

    def __init__(self, middleware: list[str], routes: dict | None):
        self.routes = routes
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for middleware_path in reversed(middleware):
            middleware_path = FAST_EQUIVALENTS.get(middleware_path, middleware_path)
            try:
                instance = import_string(middleware_path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def resolve_request(self, request):
        if self.routes is None:
            return super().resolve_request(request)
        match = self.routes.get(request.path_info)
        if match is None:
            match = super().resolve_request(request)  # raises Resolver404 for no match: nothing is kept
            if len(self.routes) >= ROUTES_KEPT:
                self.routes.clear()
            self.routes[request.path_info] = match
        request.resolver_match = match
        return match


class FastLaneMiddleware:
    """A shorter middleware stack for the hot paths (FAST_PATHS, FAST_API_PATHS,
    FAST_PAGE_PATHS).

    A cookie-less GET or HEAD of one of them (for a page: one without a
    session or messages cookie) goes through every middleware after this
    one except those in SKIPPED_ON_THE_FAST_LANE (sessions, CSRF, auth,
    messages, the terms gate, axes, static files: none has anything to do
    for such a request; pages keep CSRF for their forms' token), to its view
    resolved once per process instead of walking every URL pattern. So its answer is the full stack's, byte for
    byte (status, body, every security header; levqor/tests/test_fast_lane.py
    compares them), at a fraction of the cost. Anything else (a cookie, any
    other method or path) takes the full stack. Must come first in
    MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.urlconf = settings.ROOT_URLCONF
        names = list(settings.MIDDLEWARE)
        me = next(i for i, name in enumerate(names) if import_string(name) is type(self))
        after = names[me + 1 :]
        routes, page_routes = {}, {}
        if not getattr(settings, "WHITENOISE_ROOT", None):
            for table, paths in ((routes, (*FAST_PATHS, *FAST_API_PATHS)), (page_routes, FAST_PAGE_PATHS)):
                for path in paths:
                    try:
                        table[path] = resolve(path)
                    except Resolver404:
                        continue
        self.lean = _LeanHandler([n for n in after if n not in SKIPPED_ON_THE_FAST_LANE], routes)
        skipped_for_pages = SKIPPED_ON_THE_FAST_LANE - KEPT_FOR_PAGES
        self.lean_pages = _LeanHandler([n for n in after if n not in skipped_for_pages], page_routes)
        self.lanes = {path: self.lean for path in routes} | {path: self.lean_pages for path in page_routes}
        self.lean_posts = _LeanHandler([n for n in after if n not in SKIPPED_ON_THE_FAST_LANE], {})

    def __call__(self, request):
        lane = self.lanes.get(request.path_info)
        if (
            lane is not None
            and request.method in ("GET", "HEAD")
            and request.path == request.path_info
            and settings.ROOT_URLCONF == self.urlconf
            and (not request.META.get("HTTP_COOKIE") or (lane is self.lean_pages and _anonymous(request)))
        ):
            return lane._middleware_chain(request)
        if (
            request.method == "POST"
            and request.path_info.startswith(FAST_POST_PREFIX)
            and not request.META.get("HTTP_COOKIE")
            and request.path == request.path_info
            and settings.ROOT_URLCONF == self.urlconf
        ):
            return self.lean_posts._middleware_chain(request)
        return self.get_response(request)


def _anonymous(request) -> bool:
    """No session and no messages cookie: the visitor is anonymous and has
    no message waiting, whatever other cookies (the CSRF cookie from a first
    visit, the cookie choices) it sends, so a page may take the fast lane."""
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and CookieStorage.cookie_name not in cookies
