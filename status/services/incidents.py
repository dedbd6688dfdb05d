"""Incidents and scheduled maintenance: what staff say about the service."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from compliance import audit

from .. import cache_keys
from ..models import (
    UNRESOLVED,
    Component,
    ComponentStatus,
    Incident,
    IncidentComponent,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from .subscribers import maintenance_notifications_send, notifications_send
from .webhooks import component_changes_publish_on_commit

ComponentStates = Iterable[tuple[Component, str]]


def _notify_later(update: IncidentUpdate) -> None:
    update_id = update.pk
    transaction.on_commit(lambda: async_task(notifications_send, update_id=update_id))


def _set_components(incident: Incident, components: ComponentStates) -> None:
    wanted = {component.pk: status for component, status in components}
    IncidentComponent.objects.filter(incident=incident).exclude(component_id__in=wanted).delete()
    for component_id, status in wanted.items():
        IncidentComponent.objects.update_or_create(
            incident=incident, component_id=component_id, defaults={"status": status}
        )


def _affected_components(incident: Incident, status: str) -> list[dict] | None:
    """Statuspage's `affected_components` of a new update: each affected
    component's status before it and with it (operational once resolved)."""
    previous = incident.updates.order_by("-display_at", "-id").values_list("affected_components", flat=True).first()
    before = {item["code"]: item["new_status"] for item in (previous or [])}
    resolved = status not in UNRESOLVED
    items = [
        {
            "code": affected.component.public_id,
            "name": affected.component.name,
            "old_status": before.get(affected.component.public_id, ComponentStatus.OPERATIONAL.value),
            "new_status": ComponentStatus.OPERATIONAL.value if resolved else affected.status,
        }
        for affected in incident.affected.select_related("component").order_by("component__position")
    ]
    return items or None


def _add_update(*, incident: Incident, status: str, body: str, notify: bool, at: datetime) -> IncidentUpdate:
    was_unresolved = incident.status in UNRESOLVED
    update = IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        body=body,
        display_at=at,
        created_at=at,
        updated_at=at,
        deliver_notifications=notify,
        affected_components=_affected_components(incident, status),
    )
    incident.status = status
    incident.updated_at = at
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = at
    if status in UNRESOLVED:
        incident.resolved_at = None
    elif was_unresolved or incident.resolved_at is None:  # or created resolved (a past outage told afterwards)
        incident.resolved_at = at
    incident.save(update_fields=["status", "updated_at", "monitoring_at", "resolved_at"])
    transaction.on_commit(cache_keys.forget_incidents)
    component_changes_publish_on_commit()
    return update


@transaction.atomic
def incident_create(
    *,
    name: str,
    impact: str,
    body: str,
    components: ComponentStates = (),
    status: str = IncidentStatus.INVESTIGATING,
    started_at: datetime | None = None,
    at: datetime | None = None,
    notify: bool = True,
    draft: bool = False,
    actor,
    actor_label: str = "",
) -> Incident:
    """Open an incident with its first update; subscribers are emailed (by
    the queue, after commit) unless `notify` is off. A `draft` (made by an
    on-call alert) is seen by staff only and emails nobody until published.
    Audited."""
    at = at or timezone.now()
    notify = notify and not draft
    incident = Incident.objects.create(
        name=name,
        impact=impact,
        status=status,
        started_at=started_at or at,
        created_at=at,
        updated_at=at,
        draft=draft,
        published_at=None if draft else at,
    )
    _set_components(incident, components)
    update = _add_update(incident=incident, status=status, body=body, notify=notify, at=at)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.incident.created",
        target=incident,
        details={"impact": impact, "draft": draft},
    )
    if notify:
        _notify_later(update)
    return incident


@transaction.atomic
def incident_publish(*, incident: Incident, at: datetime | None = None, actor) -> bool:
    """Publish a draft incident: it appears on /status, the v2 API, feeds and
    banners, and its latest update is emailed to subscribers. Claimed with a
    conditional UPDATE, so publishing twice publishes (and emails) once.
    Returns whether this call published it. Audited."""
    at = at or timezone.now()
    if not Incident.objects.filter(pk=incident.pk, draft=True).update(draft=False, published_at=at, updated_at=at):
        return False
    incident.refresh_from_db()
    update = incident.updates.order_by("-display_at", "-id").first()
    if update is not None:
        IncidentUpdate.objects.filter(pk=update.pk).update(deliver_notifications=True)
        _notify_later(update)
    audit.record(actor=actor, action="status.incident.published", target=incident)
    transaction.on_commit(cache_keys.forget_incidents)
    return True


@transaction.atomic
def incident_update(
    *,
    incident: Incident,
    status: str,
    body: str,
    notify: bool = False,
    components: ComponentStates | None = None,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> IncidentUpdate:
    """Post a timestamped update (which sets the incident's status). Staff
    choose whether it emails subscribers; resolving always does. Audited."""
    at = at or timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if components is not None:
        _set_components(incident, components)
    resolves = incident.status in UNRESOLVED and status not in UNRESOLVED
    notify = (notify or resolves) and not incident.is_draft
    update = _add_update(incident=incident, status=status, body=body, notify=notify, at=at)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.incident.updated",
        target=incident,
        details={"status": status, "notify": update.deliver_notifications},
    )
    if update.deliver_notifications:
        _notify_later(update)
    return update


@transaction.atomic
def incident_edit(
    *,
    incident: Incident,
    name: str,
    impact: str,
    started_at: datetime,
    components: ComponentStates,
    actor,
    actor_label: str = "",
) -> Incident:
    """Change an incident's name, impact, start or affected components
    without posting an update. Audited."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    incident.name, incident.impact, incident.started_at = name, impact, started_at
    incident.updated_at = timezone.now()
    incident.save(update_fields=["name", "impact", "started_at", "updated_at"])
    _set_components(incident, components)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.incident.edited",
        target=incident,
        details={"impact": impact},
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return incident


# Subscribers are told when a maintenance is announced, when it starts and
# when it is completed (/sla: planned maintenance is announced by email to
# those who asked); the one-hour reminder is subscribers.maintenance_reminders_send.
NOTIFY_MAINTENANCE = (MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED)


def _maintenance_update(
    maintenance: Maintenance, status: str, body: str, at: datetime, *, notify: bool | None = None
) -> MaintenanceUpdate:
    update = MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status=status,
        body=body,
        display_at=at,
        created_at=at,
        deliver_notifications=status in NOTIFY_MAINTENANCE if notify is None else notify,
    )
    if update.deliver_notifications:
        update_id = update.pk
        transaction.on_commit(lambda: async_task(maintenance_notifications_send, update_id=update_id))
    return update


@transaction.atomic
def maintenance_create(
    *,
    name: str,
    body: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: Iterable[Component] = (),
    auto_start: bool = True,
    auto_complete: bool = True,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> Maintenance:
    """Schedule a maintenance window. Audited."""
    at = at or timezone.now()
    maintenance = Maintenance.objects.create(
        name=name,
        body=body,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
        created_at=at,
        updated_at=at,
    )
    maintenance.components.set(components)
    _maintenance_update(maintenance, MaintenanceStatus.SCHEDULED, body, at)
    audit.record(actor=actor, actor_label=actor_label, action="status.maintenance.scheduled", target=maintenance)
    transaction.on_commit(cache_keys.forget_incidents)
    return maintenance


@transaction.atomic
def maintenance_edit(
    *, maintenance: Maintenance, fields: dict, components: Iterable[Component], actor, actor_label: str = ""
) -> Maintenance:
    """Change a maintenance's window, text or components. Audited."""
    for name, value in fields.items():
        setattr(maintenance, name, value)
    maintenance.updated_at = timezone.now()
    # Only what staff changed: never write back a stale status or reminder claim.
    maintenance.save(update_fields=[*fields, "updated_at"])
    maintenance.components.set(components)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.maintenance.edited",
        target=maintenance,
        details={"fields": sorted(fields)},
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return maintenance


_NEXT = {
    MaintenanceStatus.IN_PROGRESS: (MaintenanceStatus.SCHEDULED,),
    MaintenanceStatus.VERIFYING: (MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS),
    MaintenanceStatus.COMPLETED: (
        MaintenanceStatus.SCHEDULED,
        MaintenanceStatus.IN_PROGRESS,
        MaintenanceStatus.VERIFYING,
    ),
}
_DEFAULT_BODY = {
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is in progress.",
    MaintenanceStatus.VERIFYING: "Maintenance work is done; we are verifying that everything works.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}


@transaction.atomic
def maintenance_set_status(
    *, maintenance: Maintenance, status: str, body: str = "", at: datetime | None = None, actor, actor_label: str = ""
) -> bool:
    """Move a maintenance forward (start, verify, complete). Claims the move
    with a conditional UPDATE, so doing it twice (or on two workers) moves it
    once. Returns whether this call moved it. Audited."""
    at = at or timezone.now()
    changes = {"status": status, "updated_at": at}
    if status == MaintenanceStatus.IN_PROGRESS:
        changes["started_at"] = at
    if status == MaintenanceStatus.COMPLETED:
        changes["completed_at"] = at
    moved = Maintenance.objects.filter(pk=maintenance.pk, status__in=_NEXT[status]).update(**changes)
    if not moved:
        return False
    maintenance.refresh_from_db()
    _maintenance_update(maintenance, status, body or _DEFAULT_BODY[status], at)
    audit.record(actor=actor, actor_label=actor_label, action=f"status.maintenance.{status}", target=maintenance)
    transaction.on_commit(cache_keys.forget_incidents)
    component_changes_publish_on_commit()
    return True


@transaction.atomic
def maintenance_post_update(
    *,
    maintenance: Maintenance,
    body: str,
    notify: bool = True,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> MaintenanceUpdate:
    """Post an update to a maintenance without moving it (Statuspage's
    update with the same status: a progress note). Subscribers of its
    components are told, by email and webhook, each once (the fan-out of
    every maintenance update), unless `notify` is off. Audited."""
    at = at or timezone.now()
    maintenance = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    update = _maintenance_update(maintenance, maintenance.status, body, at, notify=notify)
    Maintenance.objects.filter(pk=maintenance.pk).update(updated_at=at)
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.maintenance.updated",
        target=maintenance,
        details={"status": maintenance.status, "notify": notify},
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return update


def maintenance_advance(*, now: datetime | None = None) -> tuple[int, int]:
    """Start maintenances whose window opened and complete those whose
    window closed (when set to do so automatically). Safe to run twice.
    Returns (started, completed)."""
    now = now or timezone.now()
    started = completed = 0
    for maintenance in Maintenance.objects.filter(
        auto_start=True, status=MaintenanceStatus.SCHEDULED, scheduled_for__lte=now, scheduled_until__gt=now
    ):
        started += maintenance_set_status(
            maintenance=maintenance, status=MaintenanceStatus.IN_PROGRESS, at=now, actor=None
        )
    for maintenance in Maintenance.objects.filter(
        auto_complete=True,
        status__in=(MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING),
        scheduled_until__lte=now,
    ):
        completed += maintenance_set_status(
            maintenance=maintenance, status=MaintenanceStatus.COMPLETED, at=now, actor=None
        )
    return started, completed


@transaction.atomic
def incident_delete(*, incident: Incident, actor, actor_label: str = "") -> bool:
    """Delete an incident with its updates (Statuspage's "delete an
    incident"): it leaves /status, the v2 API, feeds and history; emails not
    yet sent about its updates are dropped at delivery. Safe to run twice.
    Returns whether this call deleted it. Audited (the audit row keeps the name)."""
    details = {"name": incident.name, "public_id": incident.public_id, "status": incident.status}
    deleted, _ = Incident.objects.filter(pk=incident.pk).delete()
    if not deleted:
        return False
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.incident.deleted",
        target_type=Incident._meta.label_lower,
        target_id=incident.pk,
        details=details,
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return True


@transaction.atomic
def maintenance_delete(*, maintenance: Maintenance, actor, actor_label: str = "") -> bool:
    """Delete a scheduled maintenance with its updates (as `incident_delete`)."""
    details = {"name": maintenance.name, "public_id": maintenance.public_id, "status": maintenance.status}
    deleted, _ = Maintenance.objects.filter(pk=maintenance.pk).delete()
    if not deleted:
        return False
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.maintenance.deleted",
        target_type=Maintenance._meta.label_lower,
        target_id=maintenance.pk,
        details=details,
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return True
