"""GET /api/usage: this month's calls, per key and for the account."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from levqor.lib.drf.errors import error_responses

from . import selectors, usage
from .base import AccountApi
from .models import ApiKey


class PoolSerializer(serializers.Serializer):
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    remaining = serializers.IntegerField(allow_null=True, help_text="null: unlimited")


class KeyUsageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    mode = serializers.ChoiceField(choices=ApiKey.Mode.choices)
    state = serializers.ChoiceField(choices=["active", "rotating", "expired", "revoked"])
    used = serializers.IntegerField(help_text="Calls this key made this month.")
    limit = serializers.IntegerField(allow_null=True, help_text="The quota this key's mode shares; null: unlimited.")
    remaining = serializers.IntegerField(
        allow_null=True, help_text="Calls left in that shared quota (every key of the mode draws on it)."
    )


class DayUsageSerializer(serializers.Serializer):
    date = serializers.DateField()
    live = serializers.IntegerField()
    sandbox = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    reset_at = serializers.DateTimeField(help_text="When the monthly quotas reset (UTC).")
    account = serializers.DictField(child=PoolSerializer(), help_text="Per mode: live and sandbox.")
    keys = KeyUsageSerializer(many=True)
    daily = DayUsageSerializer(many=True, help_text="Calls per day this month (UTC), by mode.")


def usage_data(account) -> dict:
    keys = list(selectors.api_key_list(account=account))
    found = usage.account_usage(account=account, keys=keys)
    return {
        "period_start": found["period_start"],
        "reset_at": found["reset_at"],
        "account": {
            ("sandbox" if mode == ApiKey.Mode.TEST else "live"): {
                "used": pool.used,
                "limit": pool.limit,
                "remaining": pool.remaining,
            }
            for mode, pool in found["pools"].items()
        },
        "keys": [
            {
                "id": row["key"].pk,
                "name": row["key"].name,
                "prefix": row["key"].prefix,
                "mode": row["key"].mode,
                "state": row["key"].state(),
                "used": row["used"],
                "limit": row["limit"],
                "remaining": row["remaining"],
            }
            for row in found["keys"]
        ],
        "daily": found["daily"],
    }


class UsageApi(AccountApi):
    """Calls used and left this month."""

    serializer_class = UsageSerializer
    pagination_class = None

    @extend_schema(
        operation_id="usage_retrieve",
        tags=["usage"],
        summary="Calls used and left this month",
        description="For the account (live and sandbox quotas) and per key, with the reset time and each "
        "day's calls. Any key of the account may read it; this call counts too.",
        responses={200: UsageSerializer, **error_responses()},
    )
    def get(self, request):
        return Response(UsageSerializer(usage_data(self.account)).data)
