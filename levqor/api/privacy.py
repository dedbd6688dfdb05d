"""API keys in an erasure: the keys a person created stop working, and all
of the account's keys when the account closes with them."""

from compliance.dsar.providers import Provider
from levqor.accounts.privacy import sole_member

from .models import ApiKey
from .services import api_key_revoke


def erase_user(*, user, actor) -> dict:
    keys = ApiKey.objects.filter(revoked_at__isnull=True)
    keys = keys.filter(account_id=user.account_id) if sole_member(user) else keys.filter(created_by=user)
    revoked = sum(api_key_revoke(key=key, actor=actor) for key in keys)
    return {"api_keys_revoked": revoked}


provider = Provider(name="api", erase=erase_user, covers=("api.ApiKey",))
