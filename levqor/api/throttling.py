from django.conf import settings
from rest_framework.throttling import BaseThrottle

from levqor.lib.drf.errors import TooManyRequests

from . import meter, quotas
from .models import ApiKey
from .usage import usage_record as per_key_usage_record

LIMITS_ATTR = "levqor_api_limits"  # read by middleware.ApiLimitHeadersMiddleware


class ApiKeyThrottle(BaseThrottle):
    """Per-key burst limit, then the account's monthly quota (see quotas: in
    one Redis round trip with Redis, else the cache's window and a database
    upsert). A call refused by the burst limit does not use quota."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # public views (no key) are not metered
        limits: dict = {}
        setattr(request._request, LIMITS_ATTR, limits)
        account = key.account
        usage = None
        if meter.enabled():
            burst, usage = quotas.call_meter(
                key_id=key.pk,
                account_id=account.pk,
                plan=account.plan,
                sandbox=key.is_sandbox,
                burst_limit=settings.LEVQOR_API_BURST_PER_KEY,
                taken=getattr(request._request, meter.METERED_ATTR, None),
            )
        else:
            burst = quotas.burst_consume(scope="key", ident=str(key.pk), limit=settings.LEVQOR_API_BURST_PER_KEY)
        limits["burst"] = burst
        if burst.exceeded:
            limits["quota"] = usage or quotas.quota_peek(
                account_id=account.pk, plan=account.plan, sandbox=key.is_sandbox
            )
            raise TooManyRequests(
                message=f"Too many requests for this key: at most {burst.limit} in any "
                f"{settings.LEVQOR_API_BURST_WINDOW} s. Retry in {burst.reset_in} s.",
                code="rate_limited",
                wait=burst.reset_in,
                details={"scope": "key", "limit": burst.limit, "retry_after": burst.reset_in},
            )
        if usage is None:
            usage = quotas.quota_consume(account_id=account.pk, plan=account.plan, sandbox=key.is_sandbox)
            per_key_usage_record(key_id=key.pk)
        limits["quota"] = usage
        if usage.exceeded:
            wait = int((usage.reset_at - quotas.now()).total_seconds()) + 1
            mode = "sandbox" if key.is_sandbox else "monthly"
            raise TooManyRequests(
                message=f"The {mode} quota of {usage.limit:,} calls is used up; it resets at "
                f"{usage.reset_at.isoformat()}.",
                code="quota_exceeded",
                wait=wait,
                details={"limit": usage.limit, "reset_at": usage.reset_at.isoformat(), "retry_after": wait},
            )
        return True
