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

import os
import re
import threading

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


# One render of a copy at a time in each process. When a copy runs out (its
# 30 seconds, or a change to the status data), the first request renders the
# next one; the others that arrive meanwhile are served the copy this
# process had, at most one render old, instead of rendering it too. Before,
# every thread that missed rendered at once and every request queued behind
# them waited: under wrk, /status's p99 was 118-209 ms against 22 ms with
# no copy running out. A thread with no earlier copy to show (a process's
# first request) waits for the render in flight, up to RENDER_WAIT_SECONDS,
# then renders itself if there is still nothing.
_rendering: dict[str, threading.Lock] = {}
os.register_at_fork(after_in_child=_rendering.clear)  # a lock held at a fork stays held in the child
RENDER_WAIT_SECONDS = 5.0


def serve(request, variant: str, render) -> HttpResponse:
    """The shared copy of `variant`, rendered by `render()` (an HttpResponse
    for this request, and whether the results were stale) when missing."""
    generation, entry = cache_keys.document_get(variant)
    if entry is None:
        entry = _next_copy(request, variant, render)
        if isinstance(entry, HttpResponse):
            return entry
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


def _next_copy(request, variant: str, render):
    """The copy to serve when this process has none that is current: one it
    renders (the only render of `variant` in flight in the process), the
    previous one while another thread renders, or the response itself when
    it cannot be shared."""
    lock = _rendering.setdefault(variant, threading.Lock())
    if not lock.acquire(blocking=False):
        previous = cache_keys.document_last(variant)
        if previous is not None:
            return previous
        if lock.acquire(timeout=RENDER_WAIT_SECONDS):
            lock.release()
        generation, entry = cache_keys.document_get(variant)
        return entry if entry is not None else _render_and_keep(request, variant, generation, render)
    try:
        generation, entry = cache_keys.document_get(variant)  # kept by a render that ended meanwhile?
        return entry if entry is not None else _render_and_keep(request, variant, generation, render)
    finally:
        lock.release()


def _render_and_keep(request, variant: str, generation, render):
    response, stale = render()
    if response.status_code != 200 or getattr(request, "_csp_nonce", None):
        return response  # a nonce is per response: such a page cannot be shared
    token = _CSRF_FIELD.search(response.content)
    entry = (SplicedPage.cut(response.content, token.group(1) if token else None), stale)
    cache_keys.document_set(variant, generation, entry, settings.LEVQOR_STATUS_PAGE_CACHE_SECONDS)
    return entry
