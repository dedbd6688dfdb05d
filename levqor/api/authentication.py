"""API-key authentication: `X-Api-Key: <key>` or `Authorization: Bearer <key>`.

Every key-authenticated request first counts against the caller IP's burst
limit (so guessing keys is throttled too), then looks the key up by the
SHA-256 of the secret. Missing → 401 not_authenticated (from the permission
check); unknown, revoked or expired → 401 with its own code.
"""

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.throttling import BaseThrottle

from levqor.lib.drf.errors import TooManyRequests

from . import quotas
from .models import ApiKey
from .selectors import api_key_for_secret
from .services import api_key_touch

HEADER = "X-Api-Key"
REALM = 'Bearer realm="Levqor API"'


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


def check_ip_burst(request) -> None:
    ident = BaseThrottle().get_ident(request) or "unknown"
    burst = quotas.burst_consume(scope="ip", ident=ident, limit=settings.LEVQOR_API_BURST_PER_IP)
    if burst.exceeded:
        raise TooManyRequests(
            message=f"Too many requests from this address: at most {burst.limit} in any "
            f"{settings.LEVQOR_API_BURST_WINDOW} s. Retry in {burst.reset_in} s.",
            code="rate_limited",
            wait=burst.reset_in,
            details={"scope": "ip", "limit": burst.limit, "retry_after": burst.reset_in},
        )


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        check_ip_burst(request)
        raw = credentials_from(request)
        if raw is None:
            return None  # the permission check answers 401 not_authenticated
        key = api_key_for_secret(raw) if raw else None
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
