"""A metered read answered from its shared copy without DRF (Redis only).

Integrations poll their lists, and the usual poll needs nothing but the
call's one round trip (`meter.auth_round_trip`): the IP's window, the
cached key, the metering and the page's current copy all come back in it.
DRF's request wrapping, authentication, permission, throttle and
negotiation classes cost three times the rest of the call, so a view
that keeps its page as rendered JSON (`workflows.listcache`) first asks
`answer()` here and goes through DRF only when it says None.

`answer()` serves the call only when DRF would have served exactly this:
a GET with a plain JSON Accept, a well-formed key whose cached entry is
current, usable and needs no last-use write, the IP and key windows not
exceeded, the month's counter present, under the quota and not due to be
written through, and the page's copy current. Anything else (every error,
every first call, every database write) goes to DRF, which is handed the
round trip already taken (`authentication.round_trip_hand_over`), so the
call is counted once whichever way it is answered.
"""

from django.conf import settings
from django.http import HttpResponse

from levqor.lib.http import LeanResponse, header_entries, headers_add

from . import keycache, meter, quotas
from .authentication import HEADER, round_trip, round_trip_hand_over
from .selectors import secret_hash, well_formed
from .services import LAST_USED_RESOLUTION
from .throttling import LIMITS_ATTR

# Accept headers for which DRF's negotiation picks the JSON renderer with no
# parameters (so no `indent`): the fast read answers only these.
PLAIN_ACCEPT = frozenset({"", "*/*", "application/json", "application/json, */*"})
_META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


def _credentials(meta) -> str | None:
    """`authentication.credentials_from`, read from the WSGI environ."""
    raw = meta.get(_META_KEY)
    if raw is None:
        scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        raw = token
    return raw.strip()


def answer(request, *, view_class, prefetch, decode) -> HttpResponse | None:
    """The call's answer from its shared copy, or None for DRF to answer.

    `view_class`: the DRF view that would answer (its `Allow` header);
    `prefetch(request)`: the copy's key templates (the view's `prefetch`);
    `decode(raw copy, raw generation)`: the rendered JSON when current."""
    if request.method != "GET":
        return None
    meta = request.META
    if meta.get("HTTP_ACCEPT", "") not in PLAIN_ACCEPT or (meta.get("QUERY_STRING") and "format" in request.GET):
        return None
    current = meter.line()
    if current is None:
        return None  # no shared Redis: DRF answers
    raw = _credentials(meta)
    if not raw or not well_formed(raw):
        return None  # DRF answers 401 (and takes the IP's window itself)
    hashed = secret_hash(raw)
    taken = round_trip(request, hashed, prefetch=prefetch(request), meters=True, line=current)
    at, ((_ip_count, ip_allowed, _ip_oldest), entry, generation, metered, prefetched) = taken
    body = _served(entry, generation, metered, prefetched, decode, at)
    if body is None:
        round_trip_hand_over(request, hashed, taken)
        return None
    key, (count, allowed, oldest, calls, _flush) = body[1], metered
    usage = quotas.Usage(
        limit=quotas.monthly_limit(plan=key.account.plan, sandbox=key.is_sandbox),
        used=calls,
        reset_at=quotas.period(at)[2],
    )
    if usage.exceeded or not ip_allowed:
        round_trip_hand_over(request, hashed, taken)
        return None
    burst = quotas.burst_from(
        count=count, allowed=allowed, oldest=oldest, limit=settings.LEVQOR_API_BURST_PER_KEY, at=at.timestamp()
    )
    setattr(request, LIMITS_ATTR, {"burst": burst, "quota": usage})
    response = LeanResponse(body[0], content_type="application/json")
    headers_add(response, _view_headers(view_class), replace=True)
    return response


def _served(entry, generation, metered, prefetched, decode, at):
    """(rendered page, key) when every condition of the module doc holds."""
    if metered is None or prefetched is None:
        return None
    _count, allowed, _oldest, calls, flush = metered
    if not allowed or calls < 0 or flush:
        return None
    key = _key(entry, generation)
    if key is None or not key.is_usable():
        return None
    if key.last_used_at is None or at - key.last_used_at > LAST_USED_RESOLUTION:
        return None  # api_key_touch writes this call: DRF's way
    page = decode(*prefetched)
    return None if page is None else (page, key)


_headers: dict = {}
_keys: dict = {}


def _key(entry, generation):
    """`keycache.key_from_entry`, remembered per process by the entry's
    bytes and the generation read with it: the same bytes are the same row,
    and the stamp check is part of what is remembered. The fast read only
    reads the key."""
    if entry is None:
        return None
    seen = (entry, generation)
    try:
        return _keys[seen]
    except KeyError:
        pass
    key = keycache.key_from_entry(entry, generation)
    if len(_keys) > 1000:
        _keys.clear()
    _keys[seen] = key
    return key


def _view_headers(view_class) -> list:
    """The headers DRF puts on every answer of `view_class` (`Allow`, and
    `Vary: Accept` where it has several renderers), ready to put on one."""
    headers = _headers.get(view_class)
    if headers is None:
        view = view_class()
        if hasattr(view, "get") and not hasattr(view, "head"):
            view.head = view.get  # as Django's View.setup() does for each request
        headers = _headers[view_class] = header_entries(*view.default_response_headers.items())
    return headers
