"""Small security helpers every app needs: who the client is, and how to name
a person in a log without writing down their email or IP address."""

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

# Query parameters that carry a sign-in secret (django-sesame's token). A URL
# holding one must never be written into a form, a `next` parameter or a log.
SECRET_PARAMETERS = frozenset({"token", "sesame"})


def pii_hash(value: str | None) -> str:
    """A stable, keyed, one-way name for an email address or IP address, safe
    to write to logs: the same input gives the same 16 hex characters (so
    lines can be correlated), and without SECRET_KEY it cannot be reversed by
    hashing guesses."""
    if not value:
        return "-"
    key = hashlib.sha256(f"levqor.pii|{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]


def without_secrets(url: str) -> str:
    """The URL (or path) with every sign-in secret parameter removed, the rest
    kept: `/login/magic?token=…&next=/x` → `/login/magic?next=/x`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    names = SECRET_PARAMETERS | {getattr(settings, "SESAME_TOKEN_NAME", "sesame")}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in names]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def client_ip(request) -> str:
    """The client's address, trusting X-Forwarded-For only as far as
    LEVQOR_TRUSTED_PROXY_COUNT proxies we run ourselves (each appends the
    address it saw, so the Nth from the right is the one our edge saw)."""
    proxies = getattr(settings, "LEVQOR_TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
