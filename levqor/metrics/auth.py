"""Who may read the metrics: a signed-in active staff user, or a machine
holding LEVQOR_METRICS_TOKEN (`Authorization: Bearer <token>`). Customer
API keys never: they belong to customers' accounts."""

import hmac

from django.conf import settings


def bearer(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def has_metrics_token(request) -> bool:
    expected = settings.LEVQOR_METRICS_TOKEN
    given = bearer(request)
    return bool(expected and given) and hmac.compare_digest(given.encode(), expected.encode())


def is_staff_session(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)
