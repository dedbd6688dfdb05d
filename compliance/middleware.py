from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from levqor.lib.security import without_secrets

from . import terms

# Paths a customer who has not yet accepted the current terms can still reach:
# the acceptance page itself, reading the terms and privacy pages, signing
# out, privacy tools, static files, the API (it answers with its own error),
# the admin and Stripe's webhook.
EXEMPT_PREFIXES = (
    "/legal/",
    "/terms",
    "/privacy",
    "/data-requests",
    "/cookies",
    "/high-risk-data",
    "/marketing/",
    "/logout",
    "/login",
    "/static/",
    "/media/",
    "/api/",
    "/admin/",
    "/-/",
    "/favicon.ico",
    # Status badges and the embed: public documents for other sites, the
    # same for everyone; exempt before the user is read, so they never vary
    # by cookie (shared caches keep them) and never redirect an <img>.
    "/status/badge",
    "/status/embed",
    # Stripe's webhook deliveries: signed machine requests, never a person's
    # session (and exempt before the user is read: reading it costs the
    # acknowledgement a session lookup and the user model's resolution).
    "/stripe/webhook/",
)


class TermsGateMiddleware:
    """Signed-in customers must accept the current terms of service before
    using any other page: they are sent to the acceptance page (and back)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(EXEMPT_PREFIXES):  # first: reading the user reads the session
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and terms.terms_must_accept(user=user):
            target = reverse("compliance:terms_accept")
            if request.method == "GET":
                target += "?" + urlencode({"next": without_secrets(request.get_full_path())})
            return redirect(target)
        return self.get_response(request)
