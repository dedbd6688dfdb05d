"""What webhook subscribers are sent, and how: Atlassian Statuspage's
webhook payloads for incident updates (maintenance included, as Statuspage
does) and component status changes. (Subscribing, confirming and the
endpoint rules are webhook_subscribers.py.)

- Events: each is one `WebhookEvent` (unique key, payload fixed when it
  happened) and one `WebhookDelivery` per (event, subscriber), unique, so a
  re-run fan-out or a second worker adds nothing. Deliveries are POSTed by a
  django-q2 task after commit, each claimed by a conditional UPDATE first
  (the lease pattern of services/deliveries.py, shared with on-call), signed
  (`X-Levqor-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>`),
  with a stable `X-Levqor-Delivery` id, a short timeout, and retried with
  backoff by the minute sweep (`webhook_deliveries_retry`).
- Failure: after LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_FAILURES failed POSTs in
  a row spanning LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_HOURS, the subscriber is
  disabled (claimed once), its owner is emailed once (outbox) and it shows in
  needs attention until re-enabled or removed.
- Component changes: `component_changes_publish` compares each component's
  evaluated status (status/state.py) with the last one published
  (`ComponentPublication`) and claims each change by a conditional UPDATE.
"""

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit
from compliance.outbox.services import email_queue

from .. import formats, selectors
from ..models import (
    Component,
    ComponentPublication,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscriber,
    public_id,
)
from . import deliveries, subscriptions
from .webhook_subscribers import DISABLED_KIND, TAGS, EndpointRefused, deliveries_give_up, endpoint_problem

logger = logging.getLogger(__name__)

INCIDENT, COMPONENT_UPDATE = "incident", "component_update"
SIGNATURE_HEADER = "X-Levqor-Signature"
DELIVERY_HEADER = "X-Levqor-Delivery"
BACKOFF_CAP_MINUTES = 6 * 60


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>." + body, keyed by the subscriber's secret>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


# --- Events and their payloads -------------------------------------------------------------


def _page(evaluation) -> dict:
    return {
        "id": settings.LEVQOR_STATUS_PAGE_ID,
        "status_indicator": evaluation.indicator,
        "status_description": selectors.INDICATOR_DESCRIPTION[evaluation.indicator],
    }


def _lookup(evaluation) -> formats.Lookup:
    return formats.Lookup(
        statuses={c.id: c.status for c in evaluation.components},
        groups={c.id: c.public_id for c in evaluation.components if c.is_group and not c.hidden},
    )


def _incident_payload(build, now: datetime) -> dict:
    evaluation = selectors.status_evaluate(now=now, cached=False)
    return {"page": _page(evaluation), "incident": build(_lookup(evaluation))}


def _as_of(incident: dict, update) -> dict:
    """The incident object as it stood when `update` was posted. The
    payload is built by a task after commit, which may run late (a queue
    backlog, the watchdog's sweep of a lost fan-out): it must not tell of
    the later updates, nor carry their status, as this update's event."""
    updates = incident["incident_updates"]
    ids = [u["id"] for u in updates]
    if update.public_id in ids:
        updates = updates[ids.index(update.public_id) :]
    incident = {**incident, "status": update.status, "incident_updates": updates}
    if update.status not in ("resolved", "postmortem", "completed"):
        incident["resolved_at"] = None
    if update.status in ("investigating", "identified"):
        incident["monitoring_at"] = None
    return incident


def _event(key: str, kind: str, payload, now: datetime) -> WebhookEvent:
    event = WebhookEvent.objects.filter(key=key).first()
    if event is not None:
        return event
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(key=key, kind=kind, payload=payload(), created_at=now)
    except IntegrityError:
        return WebhookEvent.objects.get(key=key)  # another worker made it first


def _recipients(*, since: datetime, component_ids):
    return WebhookSubscriber.objects.filter(
        confirmed_at__isnull=False,
        confirmed_at__lte=since,
        unsubscribed_at__isnull=True,
        disabled_at__isnull=True,
    ).filter(subscriptions.wants(WebhookSubscriber, component_ids))


def _publish(*, key: str, kind: str, payload, component_ids, since: datetime, now: datetime) -> int:
    """One event, one delivery per subscriber who wants it and has none yet;
    POSTed by a task after commit. Returns deliveries added."""
    wanted = list(_recipients(since=since, component_ids=component_ids).values_list("pk", flat=True))
    if not wanted:
        return 0
    event = _event(key, kind, payload, now)
    have = set(WebhookDelivery.objects.filter(event=event).values_list("subscriber_id", flat=True))
    new = [pk for pk in wanted if pk not in have]
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, subscriber_id=pk, created_at=now) for pk in new], ignore_conflicts=True
    )
    ids = list(
        WebhookDelivery.objects.filter(
            event=event, subscriber_id__in=new, status=deliveries.Status.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: _enqueue(ids))
    return len(new)


def _enqueue(ids: list[int]) -> None:
    if not ids:
        return
    try:
        async_task(webhook_deliveries_send, delivery_ids=ids, task_name=f"status-webhooks-{ids[0]}")
    except Exception:
        logger.exception("could not enqueue %d status webhooks; the retry sweep will send them", len(ids))


def incident_update_publish(*, update: IncidentUpdate) -> int:
    """An incident update (created, updated, resolved) to webhook subscribers
    of its components (everyone when it names none)."""
    incident = update.incident
    return _publish(
        key=f"incident-update:{update.pk}",
        kind=INCIDENT,
        payload=lambda: _incident_payload(
            lambda lookup: _as_of(formats.incident_dict(incident, lookup), update), update.created_at
        ),
        component_ids=list(incident.affected.values_list("component_id", flat=True)),
        since=update.created_at,
        now=update.created_at,
    )


def _maintenance_publish(maintenance: Maintenance, *, key: str, at: datetime, update=None) -> int:
    def build(lookup):
        data = formats.maintenance_dict(maintenance, lookup)
        return data if update is None else _as_of(data, update)

    return _publish(
        key=key,
        kind=INCIDENT,  # Statuspage sends maintenance as incident payloads
        payload=lambda: _incident_payload(build, at),
        component_ids=list(maintenance.components.values_list("pk", flat=True)),
        since=at,
        now=at,
    )


def maintenance_update_publish(*, update: MaintenanceUpdate) -> int:
    """A maintenance announced, started or completed, as an incident payload."""
    return _maintenance_publish(
        update.maintenance, key=f"maintenance-update:{update.pk}", at=update.created_at, update=update
    )


def maintenance_reminder_publish(*, maintenance: Maintenance) -> int:
    """The one-hour reminder, as an incident payload (status `scheduled`)."""
    return _maintenance_publish(maintenance, key=f"maintenance-reminder:{maintenance.pk}", at=maintenance.reminded_at)


def component_changes_publish(*, now: datetime | None = None) -> int:
    """Tell webhook subscribers each component whose evaluated status
    (status/state.py) differs from the one last published: one
    `component_update` event per change, claimed by a conditional UPDATE of
    its `ComponentPublication`, so two workers (or the snapshot task and a
    write's on-commit call) publish it once. Not while monitoring is stale
    (results are not current). Returns the changes this call published."""
    now = now or timezone.now()
    evaluation = selectors.status_evaluate(now=now, cached=False)
    if evaluation.stale:
        return 0
    last = {row.component_id: row for row in ComponentPublication.objects.all()}
    published = 0
    for current in evaluation.components:
        if current.is_group or current.hidden or not current.id:
            continue
        row = last.get(current.id)
        if row is None:
            try:
                with transaction.atomic():
                    row = ComponentPublication.objects.create(component_id=current.id)
            except IntegrityError:
                row = ComponentPublication.objects.get(component_id=current.id)
        if row.status == current.status:
            continue
        number = row.changes + 1
        with transaction.atomic():
            if not ComponentPublication.objects.filter(
                component_id=current.id, status=row.status, changes=row.changes
            ).update(status=current.status, changes=number, published_at=now):
                continue  # another worker published this change
            component = Component.objects.get(pk=current.id)
            old, new = row.status, current.status

            def payload(component=component, old=old, new=new):
                return {
                    "page": _page(evaluation),
                    "component_update": {
                        "id": public_id(),
                        "created_at": formats.iso(now),
                        "old_status": old,
                        "new_status": new,
                        "component_id": component.public_id,
                    },
                    "component": formats.component_dict(component, new, _lookup(evaluation)),
                }

            _publish(
                key=f"component:{current.id}:{number}",
                kind=COMPONENT_UPDATE,
                payload=payload,
                component_ids=[current.id],
                since=now,
                now=now,
            )
        published += 1
    return published


def component_changes_publish_on_commit() -> None:
    """After the current transaction commits, publish component changes
    (queued: `component_changes_publish`). For writes that change a
    component's evaluated status (incidents, maintenance, a declared status):
    webhook subscribers hear now rather than at the next snapshot, and each
    change is still claimed once, whoever publishes it."""
    transaction.on_commit(_component_changes_enqueue)


def _component_changes_enqueue() -> None:
    # Never fails the write that committed: the next snapshot publishes it anyway.
    try:
        async_task(component_changes_publish)
    except Exception:
        logger.exception("could not enqueue component_changes_publish; the next snapshot will publish")


# --- Sending --------------------------------------------------------------------------------


def _body(delivery: WebhookDelivery) -> bytes:
    subscriber = delivery.subscriber
    meta = {
        "unsubscribe": subscriptions.unsubscribe_url(subscriber),
        "documentation": settings.LEVQOR_BASE_URL + "/status/subscribe?mode=webhook#webhook-payloads",
    }
    payload = delivery.event.payload
    # Statuspage's order (the stored JSON may not keep it).
    ordered = {"meta": meta, "page": payload.get("page")}
    ordered.update({k: payload[k] for k in ("incident", "component_update", "component") if k in payload})
    return json.dumps(ordered, separators=(",", ":")).encode()


def _headers(delivery: WebhookDelivery, body: bytes, now: datetime) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": "levqor-status-webhooks",
        SIGNATURE_HEADER: signature_header(
            secret=delivery.subscriber.secret, body=body, timestamp=int(now.timestamp())
        ),
        DELIVERY_HEADER: delivery.delivery_id,
        "Idempotency-Key": delivery.delivery_id,
        "X-Levqor-Event": delivery.event.kind,
    }


def webhook_delivery_send(*, delivery_id: int, now: datetime | None = None) -> bool:
    """POST one delivery if it is due: claimed first (conditional UPDATE), so
    two workers never both send it; a failure is kept with what happened and
    retried with backoff up to LEVQOR_STATUS_WEBHOOK_MAX_ATTEMPTS, and counts
    towards disabling the subscriber. Returns whether this call sent it."""
    now = now or timezone.now()
    if not deliveries.delivery_claim(WebhookDelivery, pk=delivery_id, now=now):
        return False
    delivery = WebhookDelivery.objects.select_related("event", "subscriber").get(pk=delivery_id)
    subscriber = delivery.subscriber
    if not subscriber.is_active:
        deliveries.delivery_failed(
            WebhookDelivery, pk=delivery_id, error="not sent: the subscriber is disabled or unsubscribed", retry_at=None
        )
        return False
    body = _body(delivery)
    try:
        if problem := endpoint_problem(subscriber.endpoint, resolve=True):
            raise EndpointRefused(problem)
        deliveries.post(
            subscriber.endpoint,
            body=body,
            headers=_headers(delivery, body, now),
            timeout=settings.LEVQOR_STATUS_WEBHOOK_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        error = f"refused: {exc}" if isinstance(exc, EndpointRefused) else deliveries.error_text(exc)
        logger.info("status webhook %s failed: %s", delivery.delivery_id, error)
        more = delivery.attempts < settings.LEVQOR_STATUS_WEBHOOK_MAX_ATTEMPTS
        retry_at = now + deliveries.backoff(delivery.attempts, cap_minutes=BACKOFF_CAP_MINUTES) if more else None
        deliveries.delivery_failed(WebhookDelivery, pk=delivery_id, error=error, retry_at=retry_at)
        _failure_count(subscriber.pk, now)
        return False
    deliveries.delivery_succeeded(WebhookDelivery, pk=delivery_id, now=now)
    WebhookSubscriber.objects.filter(pk=subscriber.pk).update(
        consecutive_failures=0, failing_since=None, last_success_at=now
    )
    return True


def _failure_count(subscriber_id: int, now: datetime) -> None:
    WebhookSubscriber.objects.filter(pk=subscriber_id).update(
        consecutive_failures=F("consecutive_failures") + 1, failing_since=Coalesce("failing_since", Value(now))
    )
    subscriber = WebhookSubscriber.objects.get(pk=subscriber_id)
    window = timedelta(hours=settings.LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_HOURS)
    if (
        subscriber.consecutive_failures >= settings.LEVQOR_STATUS_WEBHOOK_DISABLE_AFTER_FAILURES
        and now - subscriber.failing_since >= window
    ):
        _disable(subscriber, now)


@transaction.atomic
def _disable(subscriber: WebhookSubscriber, now: datetime) -> bool:
    """Claimed once (conditional UPDATE): the owner is emailed once per disabling."""
    if not WebhookSubscriber.objects.filter(pk=subscriber.pk, disabled_at__isnull=True).update(disabled_at=now):
        return False
    deliveries_give_up(
        subscriber_id=subscriber.pk, reason="not sent: the subscriber was disabled after repeated failures"
    )
    audit.record(
        actor=None,
        action="status.webhook.disabled",
        target=subscriber,
        details={"consecutive_failures": subscriber.consecutive_failures},
    )
    email_queue(
        kind=DISABLED_KIND,
        about=subscriber,
        stage=f"disabled-{now.isoformat()}",
        template="status-webhook-disabled",
        to=subscriber.email,
        context={"failures": subscriber.consecutive_failures},
        purpose="transactional",
        tags=TAGS,
    )
    return True


def webhook_deliveries_send(*, delivery_ids: list[int]) -> int:
    """Task body: POST these deliveries (each claimed once). Returns how many this call sent."""
    return sum(1 for pk in delivery_ids if webhook_delivery_send(delivery_id=pk))


def webhook_deliveries_retry(*, now: datetime | None = None) -> int:
    """Every minute: POST what is due (retries after backoff, deliveries a
    lost task never sent, ones whose sender died). Safe to run twice."""
    now = now or timezone.now()
    return sum(
        webhook_delivery_send(delivery_id=pk, now=now) for pk in deliveries.deliveries_due(WebhookDelivery, now=now)
    )


def webhook_events_prune(*, now: datetime | None = None) -> int:
    """Daily: delete events (and their deliveries) older than
    LEVQOR_STATUS_RAW_RETENTION_DAYS once nothing of them is still to be sent.
    Returns events deleted. Safe to run twice."""
    now = now or timezone.now()
    waiting = WebhookDelivery.objects.filter(event=OuterRef("pk")).filter(
        Q(status__in=(deliveries.Status.PENDING, deliveries.Status.SENDING))
        | Q(status=deliveries.Status.FAILED, next_attempt_at__isnull=False)
    )
    cutoff = now - timedelta(days=settings.LEVQOR_STATUS_RAW_RETENTION_DAYS)
    old = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(Exists(waiting))
    return old.delete()[1].get(WebhookEvent._meta.label, 0)
