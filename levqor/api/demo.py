"""A sandbox API key for every demo account. Idempotent: an account that
already has a demo key gets no second one (its secret cannot be shown again)."""

from levqor.accounts.models import Account

from . import services
from .models import ApiKey

NAME = "Demo sandbox key"


def seed(*, admin, stdout) -> None:
    for account in Account.objects.order_by("name"):
        if ApiKey.objects.filter(account=account, name=NAME).exists():
            continue
        issued = services.api_key_create(account=account, name=NAME, mode=ApiKey.Mode.TEST, actor=admin)
        stdout.write(f"API sandbox key for {account.name}: {issued.secret}")
