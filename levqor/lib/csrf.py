"""Django's CSRF token, made with one call for randomness instead of 64.

`django.middleware.csrf.get_token` draws every character of the secret and
of its mask through `secrets.choice`: 64 `os.urandom` calls for a token,
the largest cost of serving the shared /status copy to a first-time
visitor (who gets a new secret and cookie). `get_token` here gives the same
token (a random mask followed by the masked secret, both over
`CSRF_ALLOWED_CHARS`), kept in the same request META entries Django's
CsrfViewMiddleware reads to set the cookie and checks a POST against, from
one `os.urandom` call. Characters are drawn uniformly: a byte is used only
below the largest multiple of the alphabet's size.
"""

import os

from django.conf import settings
from django.middleware import csrf as django_csrf
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

_SIZE = len(CSRF_ALLOWED_CHARS)
_LIMIT = 256 - 256 % _SIZE  # bytes at or above this would favour the first characters


def _random_indexes(count: int) -> list[int]:
    indexes: list[int] = []
    while len(indexes) < count:
        indexes.extend(b % _SIZE for b in os.urandom(count + count // 2) if b < _LIMIT)
    return indexes[:count]


def get_token(request) -> str:
    """`django.middleware.csrf.get_token`, cheaper (see the module doc)."""
    if settings.CSRF_USE_SESSIONS:
        return django_csrf.get_token(request)  # the secret lives in the session: Django's own way
    meta = request.META
    if "CSRF_COOKIE" in meta:
        secret = [CSRF_ALLOWED_CHARS.index(c) for c in meta["CSRF_COOKIE"]]
        mask = _random_indexes(CSRF_SECRET_LENGTH)
    else:
        drawn = _random_indexes(2 * CSRF_SECRET_LENGTH)
        secret, mask = drawn[:CSRF_SECRET_LENGTH], drawn[CSRF_SECRET_LENGTH:]
        meta["CSRF_COOKIE"] = "".join(CSRF_ALLOWED_CHARS[i] for i in secret)
    meta["CSRF_COOKIE_NEEDS_UPDATE"] = True
    chars = CSRF_ALLOWED_CHARS
    return "".join(chars[i] for i in mask) + "".join(chars[(s + m) % _SIZE] for s, m in zip(secret, mask, strict=True))
