"""API keys looked up in the shared cache (Redis), revoked at once everywhere.

Used only when the default cache is Redis: a per-process cache (the
embedded default's local memory) could not hear of a revocation made in
another process, so there every call reads the key from the database.

Each key's entry (`api:key:<sha256>`) holds the key's row and the three
account fields a call needs (id, plan, billing state; any other account
field is loaded from the database when a view reads it), stamped with the
key's *generation* (`api:keygen:<sha256>`, an integer with no expiry). The
call reads both in the round trip that also takes the IP's burst window
(`meter.auth_round_trip`) and trusts the entry only when the stamps agree.

Every change to a key (revoke, rotate, any save or delete) and to its
account (any save: plan, billing state) moves the generation on, at once
and again after the transaction commits. A reader that loaded the row
before the commit stamped its entry with the old generation, so it is
never trusted afterwards: the next call anywhere reads the database.
Entries also expire after `TTL` seconds, which bounds what a cache write
lost in a Redis outage at the moment of a revocation could leave behind.
"""

import logging
import pickle

from django.db import transaction

from levqor.accounts.models import Account

from . import meter
from .models import ApiKey

logger = logging.getLogger(__name__)

TTL = 300
KEY_FIELDS = tuple(f.attname for f in ApiKey._meta.concrete_fields)
ACCOUNT_FIELDS = ("id", "plan", "billing_state")


def cache_keys(secret_hash: str) -> tuple[str, str, str]:
    """(entry, generation, meta): the full Redis keys the call's round trip
    reads. The meta is what the script needs to meter the call at once:
    "<stamp> <key id> <account id> <mode> <usable until, Unix time>"."""
    entry, generation, meta = (meter.full_key(template.format(secret_hash)) for template in meter.KEY_NAMES)
    return entry, generation, meta


def _stamp(raw_generation) -> int:
    return int(raw_generation or 0)


def key_from_entry(raw_entry, raw_generation) -> ApiKey | None:
    """The key from its cached entry, or None when missing or outdated."""
    if raw_entry is None:
        return None
    try:
        stamp, key_values, account_values = pickle.loads(raw_entry)  # noqa: S301 - written by us, below
    except Exception:
        return None
    if stamp != _stamp(raw_generation):
        return None
    key = ApiKey.from_db("default", KEY_FIELDS, key_values)
    # The account with only the fields a call needs; others load on use.
    ApiKey.account.field.set_cached_value(key, Account.from_db("default", ACCOUNT_FIELDS, account_values))
    return key


def entry_store(key: ApiKey, raw_generation) -> None:
    """Cache `key` (with its account loaded) under the generation read
    before the row was."""
    account = key.account
    if key.revoked_at is not None:
        usable_until = 0.0
    elif key.expires_at is not None:
        usable_until = key.expires_at.timestamp()
    else:
        usable_until = 1e18
    meta = f"{_stamp(raw_generation)} {key.pk} {account.pk} {key.mode} {usable_until!r}"
    entry = (
        _stamp(raw_generation),
        tuple(getattr(key, name) for name in KEY_FIELDS),
        tuple(getattr(account, name) for name in ACCOUNT_FIELDS),
    )
    try:
        _backend, client = meter._redis()
        entry_name, _generation, meta_name = cache_keys(key.secret_hash)
        pipe = client.pipeline(transaction=False)
        pipe.set(entry_name, pickle.dumps(entry, pickle.HIGHEST_PROTOCOL), ex=TTL)
        pipe.set(meta_name, meta, ex=TTL)
        pipe.execute()
    except Exception:
        logger.warning("api: key cache write failed", exc_info=True)


def _move_on(hashes: list[str]) -> None:
    if not hashes:
        return
    try:
        _backend, client = meter._redis()
        pipe = client.pipeline(transaction=False)
        for secret_hash in hashes:
            entry, generation, meta = cache_keys(secret_hash)
            pipe.incr(generation)
            pipe.delete(entry, meta)
        pipe.execute()
    except Exception:
        logger.error("api: key cache invalidation failed; cached keys expire within %s s", TTL, exc_info=True)


def keys_forget(hashes: list[str]) -> None:
    """After a change to these keys (or their account): outdate their cached
    entries now and once the change is committed."""
    if not meter.enabled() or not hashes:
        return
    hashes = list(hashes)
    _move_on(hashes)
    transaction.on_commit(lambda: _move_on(hashes))


def account_forget(account_id: int) -> None:
    if meter.enabled():
        keys_forget(list(ApiKey.objects.filter(account_id=account_id).values_list("secret_hash", flat=True)))
