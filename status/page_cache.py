"""/status for visitors who are not signed in, from one shared rendered copy.

A status page gets its heaviest traffic during an incident, from people who
are not signed in, all reloading the same page. Rendering it takes a dozen
queries and 300 KB of HTML; so the first such visitor's render is kept in
the shared cache (`cache_keys.document_*`: rebuilt at once when the status
data changes) and every later one is served from it, gzip-compressed once.

Only what every anonymous visitor sees alike is shared. The page differs
per visitor in two ways, both handled:
- the CSRF token of its forms: the copy is cut at the token
  (`levqor.lib.splice`) and each visitor's own token is put in when served
  (stored uncompressed, so compression reveals nothing about it);
- the cookie banner: one copy per consent state (banner or not, and which
  categories are allowed), a handful at most.
Anyone with a session (signed in, or with messages waiting) and any address
with a query string gets the page rendered for them, as before.
"""

import re

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from compliance import consent
from levqor.lib.csrf import get_token
from levqor.lib.http import LeanResponse
from levqor.lib.splice import SplicedPage

from . import cache_keys
from .services import oncall

_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def shared_variant(request) -> str | None:
    """The name of the shared copy this request may be served, or None when
    the page must be rendered for this visitor alone."""
    if request.method not in ("GET", "HEAD") or request.META.get("QUERY_STRING"):
        return None
    if settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES:
        return None
    allowed = "".join(str(int(consent.allows(request, c))) for c, _label, _text in consent.CATEGORIES)
    return f"page:{int(consent.needs_choice(request))}:{allowed}"


def serve(request, variant: str, render) -> HttpResponse:
    """The shared copy of `variant`, rendered by `render()` (an HttpResponse
    for this request, and whether the results were stale) when missing."""
    generation, entry = cache_keys.document_get(variant)
    if entry is None:
        response, stale = render()
        if response.status_code != 200 or getattr(request, "_csp_nonce", None):
            return response  # a nonce is per response: such a page cannot be shared
        token = _CSRF_FIELD.search(response.content)
        entry = (SplicedPage.cut(response.content, token.group(1) if token else None), stale)
        cache_keys.document_set(variant, generation, entry, settings.LEVQOR_STATUS_PAGE_CACHE_SECONDS)
    page, stale = entry
    if stale:
        oncall.raise_on_stale_read(now=timezone.now())
    token = get_token(request).encode() if page.holes else b""
    if _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        response = LeanResponse(page.gzip(token), content_type="text/html; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = LeanResponse(page.body(token), content_type="text/html; charset=utf-8")
    patch_vary_headers(response, ("Cookie", "Accept-Encoding"))
    return response
