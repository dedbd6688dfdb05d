from rest_framework.permissions import SAFE_METHODS, BasePermission

from levqor.accounts.models import Account

from .errors import AccountPaused, AccountReadOnly
from .models import ApiKey


class HasApiKey(BasePermission):
    """A valid API key, and for writes an account that may change things:
    paused (billing) → 402, canceled → 403; reads always work."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return False
        if request.method not in SAFE_METHODS:
            state = request.auth.account.billing_state
            if state == Account.BillingState.PAUSED_BILLING:
                raise AccountPaused()
            if state == Account.BillingState.CANCELED:
                raise AccountReadOnly()
        return True
