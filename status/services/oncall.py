"""On-call alerts: a component going down (or monitoring going stale) and
its recovery, told once per change of state by email to
LEVQOR_ONCALL_EMAILS and a POST to LEVQOR_ONCALL_WEBHOOK_URL.

Who raises them (a dead worker cannot report itself):
- the snapshot task, right after storing new results (worker alive);
- `manage.py status_watchdog`, run by cron outside the task queue, and the
  same check every minute on the queue (`levqor:status.watchdog`);
- the web process, when a read of /api/status/health or /status finds the
  results stale (at most one check per 30 seconds, shared through the cache).

Each change is claimed by a conditional UPDATE of the watched thing's
`AlertState` row and an `Alert` row unique per (thing, episode, kind), so
however many of those run at once, on-call hears of it once. Each email is
one outbox email (`compliance.outbox`, kind "status.oncall-alert", about the
alert, stage = the address): queued once, retried and shown to staff by the
outbox. Whoever raised the alert also delivers it at once (the outbox's
lease makes that once), and the watchdog retries due on-call emails itself,
so a dead task queue still reaches on-call. The webhook POST is an
`AlertDelivery` row: claimed before it is sent, a failure recorded (counted
in "needs attention") and retried with backoff.
"""

import json
import logging
import threading
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from compliance import audit
from compliance.models import OutboundEmail
from compliance.outbox import kinds
from compliance.outbox.services import email_deliver, email_queue

from .. import selectors, state
from ..models import Alert, AlertDelivery, AlertState, Component, ComponentStatus, Impact, IncidentStatus, Probe, State
from . import deliveries
from .incidents import incident_create

logger = logging.getLogger(__name__)

MONITORING = "monitoring"
WEB_CHECK_KEY = "status:oncall:web-check"
WEB_CHECK_SECONDS = 30
MAX_ATTEMPTS = 8
EMAIL_KIND = "status.oncall-alert"


def _backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes, at most 30."""
    return deliveries.backoff(attempts, cap_minutes=30)


def _hhmm(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _transition(key: str, *, down: bool, now: datetime) -> int | None:
    """Claim a change of `key` to `down` (or up). Returns the episode when
    this caller made the change, None when nothing changed or another did."""
    try:
        with transaction.atomic():
            AlertState.objects.get_or_create(key=key)
    except IntegrityError:
        pass  # another worker created it first
    changes = {"down": down, "changed_at": now}
    if down:
        changes["episode"] = F("episode") + 1
    if not AlertState.objects.filter(key=key, down=not down).update(**changes):
        return None
    return AlertState.objects.values_list("episode", flat=True).get(key=key)


def _watched(evaluation: state.Evaluation) -> dict[str, tuple[bool, ComponentStatus | None]]:
    """What is watched and whether it is down now. While monitoring is
    stale the components' results are not current: only the monitoring
    itself is judged, and the components keep the state last told."""
    watched = {MONITORING: (evaluation.stale, None)}
    if evaluation.stale:
        return watched
    for c in evaluation.components:
        if not c.is_group and c.probe:
            watched[f"component:{c.slug}"] = (c.state == State.DOWN, c)
    return watched


def _admin_url(name: str, *args) -> str:
    return settings.LEVQOR_BASE_URL + reverse(name, args=args)


def _down_text(key: str, component, evaluation: state.Evaluation, incident) -> tuple[str, str]:
    if key == MONITORING:
        subject = "[Levqor on-call] Status monitoring is stale"
        lines = [
            f"No new probe results since {_hhmm(evaluation.results_at)} (checked at {_hhmm(evaluation.now)}).",
            "The worker that takes snapshots is stopped or stuck: /status and /api/status/health now say",
            "monitoring is delayed and the task queue is down.",
        ]
    else:
        subject = f"[Levqor on-call] {component.name} is down"
        lines = [f"{component.name} was found down at {_hhmm(component.checked_at)}: {component.note or 'no detail'}."]
    lines.append(
        f"A draft incident was created and is NOT published: {_admin_url('admin:status_incident_change', incident.pk)}"
        " (publish it there in one click)."
    )
    return subject, "\n".join(lines)


def _recovery_text(key: str, component, evaluation: state.Evaluation, since: datetime | None) -> tuple[str, str]:
    what = "Status monitoring" if key == MONITORING else component.name
    subject = f"[Levqor on-call] Recovered: {what}"
    text = f"{what} is working again as of {_hhmm(evaluation.now)} (reported down at {_hhmm(since)})."
    return subject, text


def _draft_incident(key: str, component, now: datetime):
    if key == MONITORING:
        queue = Component.objects.filter(probe=Probe.QUEUE, is_group=False).first()
        affected = [(queue, ComponentStatus.MAJOR_OUTAGE)] if queue else []
        name, body = "Status monitoring delayed", "Our status monitoring is delayed. We are investigating."
    else:
        target = Component.objects.get(pk=component.id)
        affected = [(target, ComponentStatus.MAJOR_OUTAGE)]
        name, body = f"{component.name} unavailable", f"{component.name} is unavailable. We are investigating."
    return incident_create(
        name=name,
        impact=Impact.MAJOR,
        body=body,
        components=affected,
        status=IncidentStatus.INVESTIGATING,
        started_at=now,
        at=now,
        draft=True,
        actor=None,
    )


def _deliveries(alert: Alert) -> tuple[list[int], list[int]]:
    """Queue the alert: one outbox email per on-call address, one webhook
    delivery row. Returns (webhook delivery ids, email ids)."""
    emails = [
        email_queue(
            kind=EMAIL_KIND,
            about=alert,
            stage=address,
            template="status-oncall-alert",
            to=address,
            context={"status_url": settings.LEVQOR_BASE_URL + reverse("status:page")},
            purpose="transactional",
            tags=["status", "oncall"],
        )
        for address in settings.LEVQOR_ONCALL_EMAILS
    ]
    hooks = []
    if settings.LEVQOR_ONCALL_WEBHOOK_URL:
        hooks = [AlertDelivery.objects.create(alert=alert, target=settings.LEVQOR_ONCALL_WEBHOOK_URL)]
    if not (emails or hooks):
        logger.warning(
            "on-call alert %r has nowhere to go: set LEVQOR_ONCALL_EMAILS or LEVQOR_ONCALL_WEBHOOK_URL", alert.subject
        )
    return [row.pk for row in hooks], [email.pk for email in emails if email is not None]


def oncall_email_prepare(email, *, resend: bool) -> kinds.Prepared:
    """Outbox hook: the alert, live (the template shows its time)."""
    alert = Alert.objects.filter(pk=email.about_id).first()
    if alert is None:
        raise kinds.Drop("the alert was deleted")
    return kinds.Prepared(to=email.to, context={"alert": alert})


def oncall_check(*, now: datetime | None = None, raised_by: str, deliver: str = "inline") -> list[Alert]:
    """Compare what is down now (the one evaluation) with what on-call was
    last told; alert each change once, with a draft incident for each new
    outage. `deliver`: "inline" (task, command), "thread" (web process:
    never blocks the request) or "none" (left to the task queue and the
    watchdog). Safe to run twice, on any number
    of processes at once. Returns the alerts this call raised."""
    now = now or timezone.now()
    evaluation = selectors.status_evaluate(now=now, cached=False)
    if not any(not c.is_group and c.probe for c in evaluation.components):
        return []  # nothing is monitored yet
    raised, delivery_ids, email_ids = [], [], []
    for key, (down, component) in _watched(evaluation).items():
        since = AlertState.objects.filter(key=key).values_list("changed_at", flat=True).first()
        try:
            with transaction.atomic():
                episode = _transition(key, down=down, now=now)
                if episode is None:
                    continue
                kind = Alert.Kind.DOWN if down else Alert.Kind.RECOVERED
                incident = _draft_incident(key, component, now) if down else None
                if down:
                    subject, text = _down_text(key, component, evaluation, incident)
                else:
                    subject, text = _recovery_text(key, component, evaluation, since)
                alert = Alert.objects.create(
                    key=key, episode=episode, kind=kind, subject=subject, text=text,
                    raised_by=raised_by, created_at=now, incident=incident,
                )  # fmt: skip
                hooks, emails = _deliveries(alert)
                audit.record(
                    actor=None, action=f"status.oncall.{kind}", target=alert, details={"key": key, "by": raised_by}
                )
        except IntegrityError:
            continue  # the unique alert row says another process told this change: all of it rolled back
        raised.append(alert)
        delivery_ids += hooks
        email_ids += emails
    if (delivery_ids or email_ids) and deliver != "none":
        _dispatch(delivery_ids, email_ids, now=now, mode=deliver)
    return raised


def _send(delivery_ids: list[int], email_ids: list[int], now: datetime) -> None:
    # Emails at once too, not only by the task queue (it may be what is
    # down); the outbox's lease sends each once whoever gets there first.
    for pk in email_ids:
        email_deliver(email_id=pk)
    for pk in delivery_ids:
        delivery_send(delivery_id=pk, now=now)


def _dispatch(delivery_ids: list[int], email_ids: list[int], *, now: datetime, mode: str) -> None:
    if mode == "thread":

        def run():
            try:
                _send(delivery_ids, email_ids, now)
            finally:
                connections.close_all()

        # After commit, so the thread's own connection sees the rows.
        transaction.on_commit(lambda: threading.Thread(target=run, name="status-oncall", daemon=True).start())
        return
    _send(delivery_ids, email_ids, now)


def raise_on_stale_read(*, now: datetime) -> None:
    """The web process found the results stale: check (and alert) now,
    at most once per WEB_CHECK_SECONDS across processes. Never raises."""
    try:
        if not cache.add(WEB_CHECK_KEY, 1, WEB_CHECK_SECONDS):
            return
    except Exception:
        logger.warning("status: on-call rate limit unavailable; checking anyway", exc_info=True)
    try:
        oncall_check(now=now, raised_by="web", deliver="thread")
    except Exception:
        logger.exception("status: on-call check from the web process failed")


def _post_webhook(url: str, text: str) -> None:
    deliveries.post(
        url,
        body=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "levqor-oncall"},
        timeout=settings.LEVQOR_ONCALL_WEBHOOK_TIMEOUT_SECONDS,
    )


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> bool:
    """POST one alert to the on-call webhook if it is due. Claimed first (a conditional
    UPDATE), so two senders never both send it. A failure is recorded with
    what happened and retried with backoff, up to MAX_ATTEMPTS. Returns
    whether it was sent by this call. (The lease pattern: services/deliveries.py.)"""
    now = now or timezone.now()
    if not deliveries.delivery_claim(AlertDelivery, pk=delivery_id, now=now):
        return False
    delivery = AlertDelivery.objects.select_related("alert").get(pk=delivery_id)
    alert = delivery.alert
    try:
        _post_webhook(delivery.target, f"{alert.subject}\n{alert.text}")
    except Exception as exc:
        error = deliveries.error_text(exc)
        logger.warning("on-call alert %s to the webhook failed: %s", alert.pk, error)
        retry_at = now + _backoff(delivery.attempts) if delivery.attempts < MAX_ATTEMPTS else None
        deliveries.delivery_failed(AlertDelivery, pk=delivery_id, error=error, retry_at=retry_at)
        return False
    deliveries.delivery_succeeded(AlertDelivery, pk=delivery_id, now=now)
    return True


def deliveries_retry(*, now: datetime | None = None) -> int:
    """POST webhook deliveries that are due: failed ones whose backoff has passed,
    and any left pending or claimed by a process that died. Safe to run twice."""
    now = now or timezone.now()
    due = deliveries.deliveries_due(AlertDelivery, now=now)
    return sum(delivery_send(delivery_id=pk, now=now) for pk in due)


def oncall_emails_retry(*, now: datetime | None = None) -> int:
    """Deliver on-call emails that are due (a retry after a failure, or one
    the queue never ran). The outbox's own sweep does this too, on the task
    queue; the watchdog does it from cron as well, for when that queue is
    down. Each is still sent once (the outbox's lease). Returns how many were sent."""
    now = now or timezone.now()
    due = (
        OutboundEmail.objects.filter(kind=EMAIL_KIND, status=OutboundEmail.Status.QUEUED, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .values_list("pk", flat=True)
    )
    return sum(email_deliver(email_id=pk, now=now) for pk in list(due))


@transaction.atomic
def delivery_retry_now(*, delivery: AlertDelivery, actor) -> bool:
    """Staff: retry a failed webhook delivery at once (given up ones too). Audited."""
    if not AlertDelivery.objects.filter(pk=delivery.pk, status=AlertDelivery.Status.FAILED).update(
        next_attempt_at=timezone.now(), claimed_until=None
    ):
        return False
    audit.record(actor=actor, action="status.oncall.retry", target=delivery.alert)
    pk = delivery.pk
    transaction.on_commit(lambda: delivery_send(delivery_id=pk))
    return True


def delivery_failed_count() -> int:
    return AlertDelivery.objects.filter(status=AlertDelivery.Status.FAILED).count()


def watchdog_run(*, now: datetime | None = None, raised_by: str = "watchdog") -> dict:
    """The watchdog (cron command and a task every minute): check, alert,
    and retry failed on-call deliveries (webhook and email). Safe to run twice."""
    now = now or timezone.now()
    raised = oncall_check(now=now, raised_by=raised_by)
    retried = deliveries_retry(now=now) + oncall_emails_retry(now=now)
    return {"raised": len(raised), "retried": retried}
