import hashlib

from django.db.models import QuerySet

from levqor.accounts.models import Account

from .models import ApiKey

KEY_PREFIXES = ("lvq_live_", "lvq_test_")
KEY_LENGTH = 41  # "lvq_live_" + 32 characters


def secret_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def well_formed(raw: str) -> bool:
    return len(raw) == KEY_LENGTH and raw.startswith(KEY_PREFIXES)


def api_key_for_secret(raw: str) -> ApiKey | None:
    """The key a caller sent, whatever its state, or None. Malformed input is
    refused without a query."""
    if not well_formed(raw):
        return None
    return ApiKey.objects.select_related("account").filter(secret_hash=secret_hash(raw)).first()


def api_key_list(*, account: Account) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(account=account).select_related("rotated_from").order_by("revoked_at", "-created_at")


def api_key_get(*, account: Account, key_id) -> ApiKey | None:
    return ApiKey.objects.filter(account=account, pk=key_id).first()
