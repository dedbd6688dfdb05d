"""Demo data for the status app: components, 90 days of history, incidents,
maintenance, an incident template and a subscriber. Idempotent: each part
is skipped when it is already there."""

import random
from datetime import UTC, timedelta

from django.utils import timezone

from compliance.models import OutboundEmail

from . import services
from .models import (
    SNAPSHOT_SECONDS,
    Alert,
    AlertDelivery,
    AlertState,
    Component,
    ComponentStatus,
    DailyRollup,
    ExternalContact,
    HourlyRollup,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    MaintenanceStatus,
    Snapshot,
    State,
    StatusApiKey,
    Subscriber,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscriber,
)
from .services import oncall, subscribers

# Typical latency (ms) per component for the generated history.
BASE_LATENCY = {"web": 45, "database": 4, "cache": 1, "stripe": 380, "email": 240, "workflows": 35}
# (component slug, days ago, minutes down): incidents and blips in the history.
OUTAGES = (("workflows", 3, 42), ("email", 20, 25), ("web", 40, 18), ("stripe", 63, 9), ("cache", 77, 3))
MAINTENANCE_DAY = ("database", 10, 60)  # the completed maintenance's window
ONCALL_DEMO = "oncall@demo.levqor.local"
ONCALL_HOOK_DEMO = "https://hooks.demo.levqor.local/oncall"
DEMO_STATUS_KEY = "Demo incident bot"


def seed(*, admin, stdout) -> None:
    now = timezone.now()
    services.components_ensure()
    group, created = Component.objects.get_or_create(
        slug="infrastructure",
        defaults={"name": "Infrastructure", "is_group": True, "position": 15, "description": "What we run on."},
    )
    if created:
        Component.objects.filter(slug__in=["database", "cache", "queue"]).update(group=group)
    components = {c.slug: c for c in Component.objects.filter(is_group=False)}
    if not (Snapshot.objects.exists() or DailyRollup.objects.exists()):
        _history(components, now)
        stdout.write("Status: 90 days of history for 7 components.")
    services.heartbeat_beat(now=now)
    for name in ("stripe", "email"):
        if not ExternalContact.objects.filter(name=name).exists():
            services.external_contact_record(name=name, ok=True, latency_ms=BASE_LATENCY[name], at=now)
    if not Incident.objects.exists():
        _incidents(components, now, admin)
        stdout.write("Status: 3 past incidents, 2 maintenance windows.")
    IncidentTemplate.objects.get_or_create(
        name="Degraded performance",
        defaults={
            "title": "Slower responses than usual",
            "impact": Impact.MINOR,
            "body": "We are investigating slower than usual responses. Workflows keep running.",
        },
    )[0].components.add(components["web"])
    subscriber, _ = Subscriber.objects.get_or_create(
        email="status-subscriber@demo.levqor.local",
        defaults={"confirmed_at": now, "confirm_sent_at": now},
    )
    _notices(subscriber, components, now)
    _webhooks(components, now)
    if not StatusApiKey.objects.filter(name=DEMO_STATUS_KEY).exists():
        issued = services.status_api_key_create(name=DEMO_STATUS_KEY, actor=admin, now=now)
        stdout.write(f"Status API (/api/v1/) key, shown only now: Authorization: OAuth {issued.secret}")


def _webhooks(components: dict[str, Component], now) -> None:
    """A webhook subscriber for the database only, with one delivered component change."""
    webhook, created = WebhookSubscriber.objects.get_or_create(
        endpoint="https://hooks.demo.levqor.local/status",
        email="status-webhook@demo.levqor.local",
        defaults={"created_at": now, "confirm_sent_at": now, "confirmed_at": now, "last_success_at": now},
    )
    if created:
        webhook.components.set([components["database"]])
    event, _ = WebhookEvent.objects.get_or_create(
        key="demo:component-update",
        defaults={
            "kind": "component_update",
            "created_at": now,
            "payload": {
                "page": {
                    "id": "levqorstatus",
                    "status_indicator": "none",
                    "status_description": "All Systems Operational",
                },
                "component_update": {
                    "id": "demo00update",
                    "old_status": "degraded_performance",
                    "new_status": "operational",
                    "component_id": components["database"].public_id,
                },
                "component": {"id": components["database"].public_id, "name": "Database", "status": "operational"},
            },
        },
    )
    WebhookDelivery.objects.get_or_create(
        event=event,
        subscriber=webhook,
        defaults={"created_at": now, "status": WebhookDelivery.Status.SENT, "attempts": 1, "sent_at": now},
    )


def _sent_email(about, *, kind: str, stage: str, template: str, to: str, at) -> None:
    """One sent outbox email, as the outbox would have left it; made once
    (looked up by its unique (kind, about, stage))."""
    OutboundEmail.objects.get_or_create(
        kind=kind,
        about_type=about._meta.label_lower,
        about_id=str(about.pk),
        stage=stage,
        defaults={
            "template": template,
            "to": to,
            "tags": ["status"],
            "status": OutboundEmail.Status.SENT,
            "attempts": 1,
            "created_at": at,
            "next_attempt_at": at,
            "sent_at": at,
            "closed_at": at,
        },
    )


def _notices(subscriber: Subscriber, components: dict[str, Component], now) -> None:
    """A sent incident email and a past on-call alert episode (down, then
    recovered, each emailed and posted to the webhook), so staff see what
    these records look like. Each made once (looked up by its unique key)."""
    update = IncidentUpdate.objects.filter(incident__draft=False).order_by("created_at").first()
    if update is not None:
        _sent_email(
            update,
            kind=subscribers.INCIDENT_KIND,
            stage=subscribers.notice_stage(subscriber.pk),
            template="status-incident-update",
            to=subscriber.email,
            at=update.created_at,
        )
    key = "component:email"
    down_at = now - timedelta(days=9, hours=3)
    AlertState.objects.get_or_create(key=key, defaults={"down": False, "episode": 1, "changed_at": down_at})
    for kind, at, subject, text in (
        (Alert.Kind.DOWN, down_at, "[Levqor on-call] Email is down", "Email was found down: last call failed."),
        (Alert.Kind.RECOVERED, down_at + timedelta(minutes=25), "[Levqor on-call] Recovered: Email",
         "Email is working again."),
    ):  # fmt: skip
        alert, _ = Alert.objects.get_or_create(
            key=key,
            episode=1,
            kind=kind,
            defaults={"subject": subject, "text": text, "raised_by": "snapshot task", "created_at": at},
        )
        _sent_email(
            alert,
            kind=oncall.EMAIL_KIND,
            stage=ONCALL_DEMO,
            template="status-oncall-alert",
            to=ONCALL_DEMO,
            at=at,
        )
        AlertDelivery.objects.get_or_create(
            alert=alert,
            target=ONCALL_HOOK_DEMO,
            defaults={"status": AlertDelivery.Status.SENT, "attempts": 1, "sent_at": at},
        )


def _latency(rng: random.Random, slug: str) -> int | None:
    base = BASE_LATENCY.get(slug)
    if base is None:
        return None
    return max(1, round(rng.gauss(base, base * 0.18)))


def _history(components: dict[str, Component], now) -> None:
    rng = random.Random(20261122)  # noqa: S311 - demo data, same every time
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    raw_from = last_hour - timedelta(hours=23)
    hourly_from = today - timedelta(days=8)
    outages = {(slug, (today - timedelta(days=days)).date()): minutes for slug, days, minutes in OUTAGES}
    maint_slug, maint_days, maint_minutes = MAINTENANCE_DAY
    maint_day = (today - timedelta(days=maint_days)).date()

    daily, hourly, snapshots = [], [], []
    for slug, component in components.items():
        # Days older than the hourly window: daily rows only.
        for days_ago in range(89, 8, -1):
            day = (today - timedelta(days=days_ago)).date()
            down = outages.get((slug, day), 0) * 60
            maintenance = maint_minutes * 60 if (slug, day) == (maint_slug, maint_day) else 0
            observed = 86400 - maintenance
            latency = [_latency(rng, slug) for _ in range(6)]
            measured = [x for x in latency if x is not None]
            daily.append(
                DailyRollup(
                    component=component,
                    day=day,
                    samples=288,
                    observed_seconds=observed,
                    available_seconds=observed - down,
                    downtime_seconds=down,
                    maintenance_seconds=maintenance,
                    latency_samples=288 if measured else 0,
                    latency_min_ms=min(measured) if measured else None,
                    latency_avg_ms=round(sum(measured) / len(measured), 2) if measured else None,
                    latency_max_ms=max(measured) if measured else None,
                )
            )
        # The last 8 days: hourly rows (older than 24 h) ...
        hour = hourly_from
        while hour < raw_from:
            down_minutes = outages.get((slug, hour.date()), 0)
            down = min(3600, down_minutes * 60) if hour.hour == 14 else 0
            maintenance = 3600 if (slug, hour.date()) == (maint_slug, maint_day) and hour.hour == 2 else 0
            observed = 3600 - maintenance
            latency = _latency(rng, slug)
            hourly.append(
                HourlyRollup(
                    component=component,
                    hour=hour,
                    samples=12,
                    observed_seconds=observed,
                    available_seconds=observed - down,
                    downtime_seconds=down,
                    maintenance_seconds=maintenance,
                    latency_samples=12 if latency else 0,
                    latency_min_ms=latency and max(1, latency - 3),
                    latency_avg_ms=latency,
                    latency_max_ms=latency and latency + 9,
                )
            )
            hour += timedelta(hours=1)
        # ... and raw 5-minute snapshots for the last 24 hours.
        moment = raw_from
        while moment <= now:
            latency = _latency(rng, slug)
            state = State.UP
            if latency is not None and latency > component.degraded_after_ms:
                state = State.DEGRADED
            snapshots.append(Snapshot(component=component, taken_at=moment, state=state, latency_ms=latency))
            moment += timedelta(seconds=SNAPSHOT_SECONDS)
    DailyRollup.objects.bulk_create(daily, ignore_conflicts=True, batch_size=500)
    HourlyRollup.objects.bulk_create(hourly, ignore_conflicts=True, batch_size=500)
    Snapshot.objects.bulk_create(snapshots, ignore_conflicts=True, batch_size=500)
    services.rollup_hours(start=hourly_from, end=now)
    for component in components.values():
        latest = component.snapshots.order_by("-taken_at").first()
        if latest:
            Component.objects.filter(pk=component.pk).update(
                state=latest.state, latency_ms=latest.latency_ms, checked_at=now
            )


def _incidents(components: dict[str, Component], now, admin) -> None:
    def at(days, hours=0, minutes=0):
        return (now - timedelta(days=days)).replace(hour=14, minute=0, second=0, microsecond=0) + timedelta(
            hours=hours, minutes=minutes
        )

    stories = (
        (
            "Workflow runs delayed",
            Impact.MAJOR,
            3,
            [(components["workflows"], ComponentStatus.PARTIAL_OUTAGE)],
            [
                (IncidentStatus.INVESTIGATING, 0, "Some workflow runs start late. We are investigating."),
                (IncidentStatus.IDENTIFIED, 12, "A stuck worker held part of the run queue; we are restarting it."),
                (IncidentStatus.MONITORING, 30, "Runs are starting on time again. We are watching the queue."),
                (IncidentStatus.RESOLVED, 42, "Resolved: every delayed run has completed."),
            ],
        ),
        (
            "Sign-in emails slow to arrive",
            Impact.MINOR,
            20,
            [(components["email"], ComponentStatus.DEGRADED_PERFORMANCE)],
            [
                (IncidentStatus.INVESTIGATING, 0, "Sign-in links take several minutes to arrive."),
                (IncidentStatus.RESOLVED, 25, "Our email provider has cleared its backlog; links arrive at once."),
            ],
        ),
        (
            "Elevated API error rates",
            Impact.CRITICAL,
            40,
            [(components["web"], ComponentStatus.MAJOR_OUTAGE)],
            [
                (IncidentStatus.INVESTIGATING, 0, "The API and console return errors for many requests."),
                (IncidentStatus.RESOLVED, 18, "A faulty deploy was rolled back; everything works again."),
                (IncidentStatus.POSTMORTEM, 60 * 24, "Postmortem: a configuration change skipped our checks. ..."),
            ],
        ),
    )
    for name, impact, days, affected, updates in stories:
        first_status, _, first_body = updates[0]
        incident = services.incident_create(
            name=name,
            impact=impact,
            body=first_body,
            status=first_status,
            components=affected,
            started_at=at(days),
            at=at(days),
            notify=False,
            actor=admin,
        )
        for status, minutes, body in updates[1:]:
            services.incident_update(
                incident=incident, status=status, body=body, at=at(days, minutes=minutes), actor=admin
            )
    done = services.maintenance_create(
        name="Database minor version upgrade",
        body="PostgreSQL gets a minor version upgrade. The console may pause for up to a minute.",
        scheduled_for=at(10, hours=-12),
        scheduled_until=at(10, hours=-11),
        components=[components["database"]],
        at=at(13),  # announced more than 48 hours ahead, so /sla excludes it
        actor=admin,
    )
    services.maintenance_set_status(
        maintenance=done, status=MaintenanceStatus.IN_PROGRESS, at=at(10, hours=-12), actor=admin
    )
    services.maintenance_set_status(
        maintenance=done, status=MaintenanceStatus.COMPLETED, at=at(10, hours=-11), actor=admin
    )
    start = (now + timedelta(days=5)).replace(hour=2, minute=0, second=0, microsecond=0)
    services.maintenance_create(
        name="Task queue upgrade",
        body="Background work pauses for about 20 minutes; scheduled workflows run when it is back.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[components["queue"], components["workflows"]],
        actor=admin,
    )
