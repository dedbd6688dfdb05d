"""Failed sign-in lockout on top of django-axes.

Rule: 5 failures within 10 minutes lock the client out for 15
minutes. django-axes counts failures on one row per client whose clock
restarts at every failure, which is a different rule; this handler counts
axes' per-failure log (`AccessFailureLog`) instead, so the window and the
lockout are exact. A client is an IP address or a username (email): either
reaching the limit locks it.

What counts as a failure:
- staff: a wrong admin password (axes sees it through Django's
  `user_login_failed` signal);
- customers: a sign-in link that does not work (the sign-in view calls
  `sign_in_failed`). Requesting a link is never a failure, for known and
  unknown addresses alike, so the lockout tells no one which are customers.

Logs name clients only by `pii_hash`, never by raw email or IP.
"""

import ipaddress
import logging
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_parameters, get_client_username, get_failure_limit
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from levqor.lib.security import client_ip as _client_ip
from levqor.lib.security import pii_hash

logger = logging.getLogger("levqor.security")


def username_from(request, credentials: dict | None) -> str | None:
    """The email a sign-in attempt was for, normalised (AXES_USERNAME_CALLABLE)."""
    value = (credentials or {}).get("username")
    if value is None and request is not None and credentials is None:
        value = getattr(request, "POST", {}).get("username")
    value = (value or "").strip().lower()
    return value or None


def client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same client address rate limits use, or
    None when there is no usable one (axes stores it in an IP column)."""
    try:
        return str(ipaddress.ip_address(_client_ip(request)))
    except ValueError:
        return None


def client_str(username, ip_address, user_agent, path_info, request) -> str:
    """AXES_CLIENT_STR_CALLABLE: how axes names a client in its log lines."""
    if isinstance(path_info, (tuple, list)):
        path_info = path_info[0] if path_info else ""
    return f"{{user: {pii_hash(username)}, ip: {pii_hash(ip_address)}, path: {path_info}}}"


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the friendly 429 page, the same for staff and customers."""
    minutes = settings.LEVQOR_LOCKOUT_MINUTES
    response = render(request, "compliance/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def _window() -> timedelta:
    return timedelta(minutes=settings.LEVQOR_LOCKOUT_WINDOW_MINUTES)


def _lockout() -> timedelta:
    return timedelta(minutes=settings.LEVQOR_LOCKOUT_MINUTES)


class LockoutHandler(AxesDatabaseHandler):
    """Counts failures per client in a sliding window; a lockout lasts from
    the failure that reached the limit for the lockout period."""

    def _client_filters(self, request, credentials) -> list[Q]:
        username = get_client_username(request, credentials)
        filters = []
        for params in get_client_parameters(
            username, request.axes_ip_address, request.axes_user_agent, request, credentials
        ):
            if any(value in (None, "") for value in params.values()):
                continue  # e.g. a failed link has no username: count it by IP only
            filters.append(Q(**params))
        return filters

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        # axes asks get_failures() before it logs the failure in hand; count it.
        if request is not None:
            request.levqor_failure_pending = True
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            if request is not None:
                request.levqor_failure_pending = False

    def get_failures(self, request, credentials: dict | None = None) -> int:
        now = request.axes_attempt_time or timezone.now()
        limit = get_failure_limit(request, credentials)
        pending = 1 if getattr(request, "levqor_failure_pending", False) else 0
        worst = 0
        for client in self._client_filters(request, credentials):
            logs = AccessFailureLog.objects.filter(client)
            if logs.filter(locked_out=True, attempt_time__gt=now - _lockout()).exists():
                return max(limit, worst)
            worst = max(worst, logs.filter(attempt_time__gt=now - _window()).count() + pending)
        return worst

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        """Unlock (axes_reset and the admin): forget the failures too."""
        count = super().reset_attempts(ip_address=ip_address, username=username, ip_or_username=ip_or_username)
        logs = AccessFailureLog.objects.all()
        if ip_or_username:
            logs = logs.filter(Q(ip_address=ip_address) | Q(username=username))
        else:
            if ip_address:
                logs = logs.filter(ip_address=ip_address)
            if username:
                logs = logs.filter(username=username)
        logs.delete()
        return count


class LockoutBackend(AxesStandaloneBackend):
    """Refuses password sign-ins (the admin) from a locked-out client. Other
    kinds of authenticate() call (the sign-in link's token) pass through:
    they may come without a request, and are checked in the sign-in views."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or password is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def is_locked_out(request, *, email: str = "") -> bool:
    """Whether this client (its IP, or the email it gives) is locked out now."""
    credentials = {"username": email.strip().lower()} if email else {}
    return not AxesProxyHandler.is_allowed(request, credentials)


def sign_in_failed(request, *, email: str = "", reason: str) -> None:
    """Count one failed customer sign-in against this client (through axes,
    like a wrong admin password) and log it with hashed identifiers."""
    credentials = {"username": email.strip().lower()} if email else {}
    logger.warning(
        "sign-in failure: %s (user %s, ip %s)", reason, pii_hash(email or None), pii_hash(_client_ip(request))
    )
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)


def locked_out_count(*, now=None) -> int:
    """Clients locked out right now (for the admin index)."""
    now = now or timezone.now()
    return (
        AccessFailureLog.objects.filter(locked_out=True, attempt_time__gt=now - _lockout())
        .values("ip_address", "username")
        .distinct()
        .count()
    )


def attempts_count() -> int:
    return AccessAttempt.objects.count()
