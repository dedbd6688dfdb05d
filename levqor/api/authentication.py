"""API-key authentication: `X-Api-Key: <key>` or `Authorization: Bearer <key>`.

Every key-authenticated request first counts against the caller IP's burst
limit (so guessing keys is throttled too), then looks the key up by the
SHA-256 of the secret. Missing → 401 not_authenticated (from the permission
check); unknown, revoked or expired → 401 with its own code.

With Redis the IP's window and the cached key (`keycache`: outdated at once
by a revocation in any process) come in one round trip; the database is
read only for a key not cached yet. Without Redis the key is read from the
database on every call (a per-process cache could not hear of revocations).
"""

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings

from levqor.lib.drf.errors import TooManyRequests

from . import keycache, meter, quotas
from .models import ApiKey
from .permissions import HasApiKey
from .selectors import api_key_for_secret, secret_hash, well_formed
from .services import api_key_touch
from .throttling import ApiKeyThrottle

HEADER = "X-Api-Key"
REALM = 'Bearer realm="Levqor API"'
TAKEN_ATTR = "levqor_api_round_trip"  # on the request: (secret hash, round trip) handed over


class ApiPrincipal:
    """`request.user` for a key: the account, not a person. Audit entries
    name the key (`api-key:<prefix>`)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey):
        self.key = key
        self.account = key.account
        self.sandbox = key.is_sandbox

    @property
    def audit_label(self) -> str:
        return f"api-key:{self.key.prefix}"

    def get_username(self) -> str:
        return self.audit_label

    def __str__(self) -> str:
        return self.audit_label


def credentials_from(request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        raw = token
    return raw.strip()


def _refuse_ip(burst) -> None:
    if burst.exceeded:
        raise TooManyRequests(
            message=f"Too many requests from this address: at most {burst.limit} in any "
            f"{settings.LEVQOR_API_BURST_WINDOW} s. Retry in {burst.reset_in} s.",
            code="rate_limited",
            wait=burst.reset_in,
            details={"scope": "ip", "limit": burst.limit, "retry_after": burst.reset_in},
        )


def _ident(request) -> str:
    """DRF's `BaseThrottle.get_ident` (the client IP, NUM_PROXIES from the
    right of X-Forwarded-For), read from META: building `request.headers`
    parses every header's name."""
    meta = request.META
    xff = meta.get("HTTP_X_FORWARDED_FOR")
    remote_addr = meta.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES
    if num_proxies is not None:
        if num_proxies == 0 or xff is None:
            return remote_addr or "unknown"
        addrs = xff.split(",")
        return addrs[-min(num_proxies, len(addrs))].strip() or "unknown"
    return ("".join(xff.split()) if xff else remote_addr) or "unknown"


def check_ip_burst(request) -> None:
    _refuse_ip(quotas.burst_consume(scope="ip", ident=_ident(request), limit=settings.LEVQOR_API_BURST_PER_IP))


def _meters_here(request) -> bool:
    """A read on a view whose only checks are a valid key and the plain
    throttle: nothing between authentication and the throttle can refuse it,
    so it is metered in the same round trip (see meter)."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return (
        request.method in ("GET", "HEAD")
        and view is not None
        and list(view.permission_classes) == [HasApiKey]
        and list(view.throttle_classes) == [ApiKeyThrottle]
    )


def round_trip(request, hashed: str | None, *, prefetch=None, meters: bool = False, line=None):
    """The call's round trip (meter.auth_round_trip) for the key whose secret
    hashes to `hashed`: (time of the call, its answer). `meters`: the call is
    metered in it (see `_meters_here`), reading `prefetch` along; `line`:
    the thread's Redis line, when the caller has it (`meter.line()`)."""
    at = quotas.now()
    meter_args = None
    if hashed and meters:
        label, _start, _reset = quotas.period(at)
        meter_args = {"limit": settings.LEVQOR_API_BURST_PER_KEY, "month": label, "day": quotas.day_label(at)}
    answer = meter.auth_round_trip(
        ip=_ident(request),
        ip_limit=settings.LEVQOR_API_BURST_PER_IP,
        now=at.timestamp(),
        hashed=hashed,
        meter_args=meter_args,
        prefetch=prefetch if meter_args else None,
        current=line,
    )
    return at, answer


def round_trip_hand_over(request, hashed: str, taken) -> None:
    """Leave a round trip already taken for this call (`fastread`) to the
    authentication below, so nothing is counted twice."""
    setattr(request, TAKEN_ATTR, (hashed, taken))


def _taken(request, hashed: str | None):
    handed = getattr(request._request, TAKEN_ATTR, None)
    if handed is None:
        return None
    delattr(request._request, TAKEN_ATTR)
    return handed[1] if handed[0] == hashed else None


def _key_through_redis(request, raw: str | None) -> ApiKey | None:
    """The IP's window, the cached key and (usually) the call's metering in
    one round trip (see meter and keycache): taken here, or handed over by
    the call's fast read (`fastread`)."""
    hashed = secret_hash(raw) if raw and well_formed(raw) else None
    ip_limit = settings.LEVQOR_API_BURST_PER_IP
    taken = _taken(request, hashed)
    if taken is None:
        meters = bool(hashed) and _meters_here(request)
        view = request.parser_context["view"] if meters else None
        prefetch = view.prefetch(request) if meters and hasattr(view, "prefetch") else None
        taken = round_trip(request, hashed, prefetch=prefetch, meters=meters)
    at, ((count, allowed, oldest), entry, generation, metered, prefetched) = taken
    _refuse_ip(quotas.burst_from(count=count, allowed=allowed, oldest=oldest, limit=ip_limit, at=at.timestamp()))
    if hashed is None:
        return None
    key = keycache.key_from_entry(entry, generation)
    cached = key is not None
    if not cached:
        key = api_key_for_secret(raw)
        if key is None:
            return None
    elif metered is not None:
        setattr(request._request, meter.METERED_ATTR, (at, metered))
        if prefetched is not None:
            setattr(request._request, meter.PREFETCHED_ATTR, prefetched)
    touched = key.is_usable() and api_key_touch(key=key)
    if touched or not cached:
        keycache.entry_store(key, generation)  # with its last use, so the next calls do not write it
    return key


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = credentials_from(request)
        if meter.enabled():
            key = _key_through_redis(request, raw)
        else:
            check_ip_burst(request)
            key = api_key_for_secret(raw) if raw else None
        if raw is None:
            return None  # the permission check answers 401 not_authenticated
        if key is None:
            raise AuthenticationFailed("The API key is not valid.", code="invalid_api_key")
        state = key.state()
        if state == "revoked":
            raise AuthenticationFailed("The API key was revoked.", code="api_key_revoked")
        if state == "expired":
            raise AuthenticationFailed(
                "The API key was rotated and its overlap window has ended; use its replacement.",
                code="api_key_expired",
            )
        api_key_touch(key=key)
        return ApiPrincipal(key), key

    def authenticate_header(self, request):
        return REALM
