"""GET /api/workflows from a shared copy (Redis only).

A key's list of workflows changes only when one of its account's workflows
is written, and is read far more often (integrations poll it). Each page's
answer is kept under the request's
absolute URL (the `next`/`previous` links name it) and the key's account
and mode, stamped with the account's workflow generation
(`levqor.lib.cache`'s stamped entries): any save or delete of one of the
account's workflows outdates every copy at once in every process. Without
Redis every call reads the database, as a per-process copy could not hear
of a change made in another process.
"""

import hashlib

from rest_framework.renderers import JSONRenderer

from levqor.api.meter import PREFETCHED_ATTR
from levqor.lib.cache import full_key, stamped_decode, stamped_get, stamped_put, stamps_bump

SECONDS = 300


def _generation(account_id) -> str:
    return f"wf:gen:{account_id}"


def _name(*, account_id, sandbox: bool, url: str) -> str:
    return f"wf:list:{account_id}:{int(sandbox)}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


_names: dict[tuple, tuple[str, str]] = {}


def prefetch_names(request) -> tuple[str, str]:
    """The copy's full cache keys with "{account}" and "{sandbox}" left for
    the API's round trip to fill in and read along (`AccountApi.prefetch`).
    Remembered per process by what the absolute URL is made of (the host
    was already checked against ALLOWED_HOSTS by CommonMiddleware)."""
    meta = request.META
    seen = (meta.get("HTTP_HOST"), meta.get("HTTP_X_FORWARDED_HOST"), request.path, meta.get("QUERY_STRING"))
    names = _names.get(seen)
    if names is None or names[2] != request.scheme:
        url_hash = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
        names = (full_key(f"wf:list:{{account}}:{{sandbox}}:{url_hash}"), full_key(_generation("{account}")))
        if len(_names) > 1000:
            _names.clear()
        _names[seen] = (*names, request.scheme)
        return names
    return names[0], names[1]


def page_get(*, account_id: int, sandbox: bool, url: str, request=None):
    """(the cached page's JSON or None, the stamp to store a new copy under):
    from what the call's round trip read along when it did, else one read."""
    prefetched = getattr(getattr(request, "_request", None), PREFETCHED_ATTR, None)
    if prefetched is not None:
        return stamped_decode(*prefetched)
    return stamped_get(_name(account_id=account_id, sandbox=sandbox, url=url), _generation(account_id))


def page_put(*, account_id: int, sandbox: bool, url: str, stamp, body: bytes) -> None:
    stamped_put(_name(account_id=account_id, sandbox=sandbox, url=url), stamp, body, SECONDS)


def render(data) -> bytes:
    """The page as DRF's JSON renderer sends it to a plain JSON Accept."""
    return JSONRenderer().render(data)


def decode(raw, raw_generation) -> bytes | None:
    """The page's JSON from a copy read along in a round trip, when current
    (`levqor.api.fastread`)."""
    return stamped_decode(raw, raw_generation)[0]


def account_forget(account_id: int) -> None:
    """After any change to one of the account's workflows."""
    stamps_bump(_generation(account_id))
