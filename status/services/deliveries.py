"""The lease-and-backoff pattern of every outside webhook POST the status app
makes (on-call alerts, subscriber webhooks), on `models.LeasedDelivery` rows:

- `delivery_claim`: a conditional UPDATE takes the row (due, not leased) and
  counts the attempt, so two workers never both send it;
- `delivery_succeeded` / `delivery_failed`: release it, the latter with what
  went wrong and the next attempt after a backoff (none once given up);
- `deliveries_due`: the ids a retry sweep sends, after putting back rows
  whose sender died mid-send;
- `post`: one POST with a short timeout; any answer but 2xx (3xx included,
  redirects are not followed) is a failure.
"""

import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.db.models import F, Q

from ..models import LeasedDelivery

CLAIM_FOR = timedelta(minutes=2)
Status = LeasedDelivery.Status


def backoff(attempts: int, *, cap_minutes: int) -> timedelta:
    """1, 2, 4, ... minutes after the 1st, 2nd, 3rd failed attempt, at most `cap_minutes`."""
    return timedelta(minutes=min(cap_minutes, 2 ** max(0, attempts - 1)))


def delivery_claim(model: type[LeasedDelivery], *, pk: int, now: datetime) -> bool:
    retryable = (Status.PENDING, Status.FAILED)
    return bool(
        model.objects.filter(pk=pk, status__in=retryable)
        .filter(Q(next_attempt_at__isnull=True, attempts=0) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(status=Status.SENDING, claimed_until=now + CLAIM_FOR, attempts=F("attempts") + 1)
    )


def delivery_succeeded(model: type[LeasedDelivery], *, pk: int, now: datetime) -> None:
    model.objects.filter(pk=pk).update(
        status=Status.SENT, sent_at=now, last_error="", next_attempt_at=None, claimed_until=None
    )


def delivery_failed(model: type[LeasedDelivery], *, pk: int, error: str, retry_at: datetime | None) -> None:
    model.objects.filter(pk=pk).update(
        status=Status.FAILED, last_error=error[:200], next_attempt_at=retry_at, claimed_until=None
    )


def deliveries_due(model: type[LeasedDelivery], *, now: datetime, extra: Q | None = None) -> list[int]:
    """Failed ones whose backoff has passed, pending ones never tried, and any
    claimed by a process that died (put back to failed first)."""
    due = model.objects.filter(
        Q(status=Status.FAILED, next_attempt_at__lte=now)
        | Q(status=Status.PENDING, attempts=0)
        | Q(status=Status.SENDING, claimed_until__lt=now)
    )
    if extra is not None:
        due = due.filter(extra)
    ids = list(due.order_by("pk").values_list("pk", flat=True))
    model.objects.filter(status=Status.SENDING, claimed_until__lt=now).update(
        status=Status.FAILED, last_error="the sending process stopped", next_attempt_at=now
    )
    return ids


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is an answer, and a failure: never follow it elsewhere


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, *, body: bytes, headers: dict, timeout: float) -> int:
    """POST `body`; returns the HTTP status, raises unless it is 2xx."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only, checked by the caller
    with _opener.open(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, "not 2xx", response.headers, None)
        return response.status


def error_text(exc: Exception) -> str:
    """What went wrong, in words safe to show staff (never the exception's message)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"webhook answered HTTP {exc.code}"
    if isinstance(exc, (urllib.error.URLError, TimeoutError, OSError)):
        return f"could not reach the webhook ({type(exc).__name__})"
    return f"send failed ({type(exc).__name__})"
