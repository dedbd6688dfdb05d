"""API keys: create, rotate, revoke, and record use. Every change is audited."""

import secrets
import string
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance import audit
from levqor.accounts.models import Account, User

from . import keycache
from .models import ApiKey
from .selectors import secret_hash

ALPHABET = string.ascii_letters + string.digits
PREFIX_CHARS = 8  # after "lvq_live_": the visible prefix is 17 characters
OVERLAP_CHOICES_HOURS = (0, 1, 24, 72, 168)
DEFAULT_OVERLAP_HOURS = 24
LAST_USED_RESOLUTION = timezone.timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its secret: the only time the secret exists in clear."""

    key: ApiKey
    secret: str


def _new_secret(mode: str) -> str:
    return f"lvq_{mode}_" + "".join(secrets.choice(ALPHABET) for _ in range(32))


def _issue(*, account: Account, name: str, mode: str, created_by: User | None, rotated_from=None) -> IssuedKey:
    for _attempt in range(5):
        secret = _new_secret(mode)
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    account=account,
                    name=name,
                    mode=mode,
                    prefix=secret[: len("lvq_live_") + PREFIX_CHARS],
                    secret_hash=secret_hash(secret),
                    created_by=created_by,
                    rotated_from=rotated_from,
                )
            return IssuedKey(key=key, secret=secret)
        except IntegrityError:
            continue  # a prefix collision (1 in 10^14): draw again
    raise RuntimeError("Could not draw a unique API key prefix.")


def _actor_user(actor: User | None) -> User | None:
    return actor if isinstance(actor, User) else None


@transaction.atomic
def api_key_create(*, account: Account, name: str, mode: str = ApiKey.Mode.LIVE, actor: User | None) -> IssuedKey:
    """Issue a key. Returns the secret once. Audited. Not idempotent."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name, e.g. the system that will use it."]})
    if len(name) > 100:
        raise ValidationError({"name": ["At most 100 characters."]})
    if mode not in ApiKey.Mode.values:
        raise ValidationError({"mode": [f"Choose one of: {', '.join(ApiKey.Mode.values)}."]})
    issued = _issue(account=account, name=name, mode=mode, created_by=_actor_user(actor))
    audit.record(
        actor=actor,
        action="api_key.created",
        target=issued.key,
        details={"name": name, "mode": mode, "prefix": issued.key.prefix, "account": account.pk},
    )
    return issued


@transaction.atomic
def api_key_rotate(*, key: ApiKey, overlap_hours: int = DEFAULT_OVERLAP_HOURS, actor: User | None) -> IssuedKey:
    """Issue a replacement key; the old one keeps working for `overlap_hours`
    (0: stops now). Audited. Refuses a key that is revoked, expired or
    already rotated, so repeating a rotation cannot leave two replacements."""
    if overlap_hours not in OVERLAP_CHOICES_HOURS:
        raise ValidationError({"overlap_hours": [f"Choose one of: {', '.join(map(str, OVERLAP_CHOICES_HOURS))}."]})
    now = timezone.now()
    claimed = ApiKey.objects.filter(
        pk=key.pk, revoked_at__isnull=True, expires_at__isnull=True, replaced_by__isnull=True
    ).update(expires_at=now + timezone.timedelta(hours=overlap_hours))
    if not claimed:
        raise ValidationError("This key is revoked, expired or already rotated: rotate its newest replacement.")
    keycache.keys_forget([key.secret_hash])
    key.refresh_from_db()
    issued = _issue(
        account=key.account,
        name=key.name,
        mode=key.mode,
        created_by=_actor_user(actor) or key.created_by,
        rotated_from=key,
    )
    audit.record(
        actor=actor,
        action="api_key.rotated",
        target=key,
        details={"old_prefix": key.prefix, "new_prefix": issued.key.prefix, "overlap_hours": overlap_hours},
    )
    return issued


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User | None) -> bool:
    """Stop a key now. Returns False (and writes nothing) if already revoked."""
    now = timezone.now()
    if not ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    keycache.keys_forget([key.secret_hash])
    key.revoked_at = now
    audit.record(actor=actor, action="api_key.revoked", target=key, details={"prefix": key.prefix})
    return True


def api_key_touch(*, key: ApiKey) -> bool:
    """Record use, at most once a minute per key (not a write per call).
    True when it wrote (a cached copy of the key should then be refreshed)."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        return True
    return False
