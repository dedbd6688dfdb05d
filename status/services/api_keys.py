"""Staff keys for the Statuspage-compatible manage API (/api/v1/): issue,
revoke, record use. Stored as a SHA-256 of the secret, like customer API
keys (`levqor.api.selectors.secret_hash`); the secret exists in clear only
in the return value of `status_api_key_create`."""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance import audit
from levqor.api.selectors import secret_hash

from ..models import StatusApiKey
from ..selectors import STATUS_KEY_LENGTH, STATUS_KEY_PREFIX

KEY_PREFIX = STATUS_KEY_PREFIX
SECRET_CHARS = STATUS_KEY_LENGTH - len(STATUS_KEY_PREFIX)  # 62^32: about 190 bits
PREFIX_CHARS = 8  # shown to people after KEY_PREFIX
LAST_USED_RESOLUTION = timedelta(minutes=1)
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class IssuedStatusKey:
    """A new key and its secret: the only time the secret exists in clear."""

    key: StatusApiKey
    secret: str


def _user(actor):
    return actor if isinstance(actor, get_user_model()) else None


@transaction.atomic
def status_api_key_create(*, name: str, scope: str = StatusApiKey.Scope.WRITE, actor, now=None) -> IssuedStatusKey:
    """Issue a key. Returns the secret once. Audited. Not idempotent."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name, e.g. the system that will use it."]})
    if len(name) > 100:
        raise ValidationError({"name": ["At most 100 characters."]})
    if scope not in StatusApiKey.Scope.values:
        raise ValidationError({"scope": [f"Choose one of: {', '.join(StatusApiKey.Scope.values)}."]})
    now = now or timezone.now()
    for _attempt in range(5):
        secret = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_CHARS))
        try:
            with transaction.atomic():
                key = StatusApiKey.objects.create(
                    name=name,
                    scope=scope,
                    prefix=secret[: len(KEY_PREFIX) + PREFIX_CHARS],
                    secret_hash=secret_hash(secret),
                    created_by=_user(actor),
                    created_at=now,
                )
            break
        except IntegrityError:
            continue  # a prefix collision (1 in 10^14): draw again
    else:
        raise RuntimeError("Could not draw a unique status API key prefix.")
    audit.record(
        actor=_user(actor),
        action="status.api_key.created",
        target=key,
        details={"name": name, "scope": scope, "prefix": key.prefix},
    )
    return IssuedStatusKey(key=key, secret=secret)


@transaction.atomic
def status_api_key_revoke(*, key: StatusApiKey, actor, now=None) -> bool:
    """Stop a key now: its next call gets 401. Returns False (and writes
    nothing) if it was already revoked. Audited."""
    now = now or timezone.now()
    if not StatusApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    key.revoked_at = now
    audit.record(actor=_user(actor), action="status.api_key.revoked", target=key, details={"prefix": key.prefix})
    return True


def status_api_key_touch(*, key: StatusApiKey, now: datetime | None = None) -> None:
    """Record use, at most once a minute per key (not a write per call)."""
    now = now or timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        StatusApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
