"""Statuspage's write verbs (manage API v1) on top of the incident and
maintenance services: each is one transaction of calls to
`status.services.incidents`, so emails, audit rows and the page cache behave
exactly as when staff act in admin."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from .incidents import (
    incident_create,
    incident_edit,
    incident_update,
    maintenance_create,
    maintenance_edit,
    maintenance_post_update,
    maintenance_set_status,
)

# Statuspage computes an incident's impact from its components' statuses
# unless the caller overrides it.
IMPACT_OF = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
IMPACT_RANK = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}
# The text of an update that changes the status without saying anything.
DEFAULT_BODY = {
    IncidentStatus.INVESTIGATING: "We are investigating this issue.",
    IncidentStatus.IDENTIFIED: "The issue has been identified and a fix is being implemented.",
    IncidentStatus.MONITORING: "A fix has been implemented and we are monitoring the results.",
    IncidentStatus.RESOLVED: "This incident has been resolved.",
    IncidentStatus.POSTMORTEM: "A postmortem has been published.",
    MaintenanceStatus.SCHEDULED: "Scheduled maintenance.",
}

ComponentStates = list[tuple[Component, str]]


class Refused(ValueError):
    """The request is well formed but cannot be applied (the API answers 422)."""


def impact_of(components: Iterable[tuple[Component, str]]) -> str:
    """The impact Statuspage would compute: the worst of the components'."""
    impacts = [IMPACT_OF[ComponentStatus(status)] for _component, status in components]
    return str(max(impacts, key=IMPACT_RANK.__getitem__, default=Impact.NONE))


@transaction.atomic
def incident_open(
    *,
    name: str,
    status: str,
    body: str,
    components: ComponentStates,
    impact: str | None = None,
    notify: bool = True,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> Incident:
    """Statuspage's "create an incident" for a real-time incident."""
    if status not in IncidentStatus.values:
        raise Refused(f"{status!r} is not an incident status.")
    incident = incident_create(
        name=name,
        impact=impact or impact_of(components),
        body=body or DEFAULT_BODY[IncidentStatus(status)],
        components=components,
        status=status,
        at=at,
        notify=notify,
        actor=actor,
        actor_label=actor_label,
    )
    if impact:
        Incident.objects.filter(pk=incident.pk).update(impact_override=impact)
        incident.impact_override = impact
    return incident


@transaction.atomic
def incident_change(
    *,
    incident: Incident,
    name: str | None = None,
    impact: str | None = None,
    status: str | None = None,
    body: str | None = None,
    components: ComponentStates | None = None,
    notify: bool = True,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> Incident:
    """Statuspage's "update an incident": a new status or body posts an
    update (resolving resolves it, and emails subscribers); `components`
    replaces the affected components and their statuses; name and impact
    change in place. The impact rises with the components unless given now
    or before (`impact_override`)."""
    if status is not None and status not in IncidentStatus.values:
        raise Refused(f"{status!r} is not an incident status (maintenance statuses are for scheduled maintenance).")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if impact is not None:
        Incident.objects.filter(pk=incident.pk).update(impact_override=impact)
        incident.impact_override = impact
    elif components is not None and not incident.impact_override:
        # The computed impact only rises: an incident resolved with its
        # components back to operational keeps the impact it had; an
        # overridden impact stays as it was given.
        computed = impact_of(components)
        if IMPACT_RANK[Impact(computed)] > IMPACT_RANK[Impact(incident.impact)]:
            impact = computed
    posts = bool(body) or (status is not None and status != incident.status)
    if name is not None or impact is not None or (components is not None and not posts):
        current = [(a.component, a.status) for a in incident.affected.select_related("component")]
        incident = incident_edit(
            incident=incident,
            name=name if name is not None else incident.name,
            impact=impact if impact is not None else incident.impact,
            started_at=incident.started_at,
            components=components if components is not None else current,
            actor=actor,
            actor_label=actor_label,
        )
        components = None
    if posts:
        new_status = status or incident.status
        incident_update(
            incident=incident,
            status=new_status,
            body=body or DEFAULT_BODY[IncidentStatus(new_status)],
            notify=notify,
            components=components,
            at=at,
            actor=actor,
            actor_label=actor_label,
        )
    return Incident.objects.get(pk=incident.pk)


def _window(scheduled_for: datetime | None, scheduled_until: datetime | None) -> None:
    if scheduled_for is None or scheduled_until is None:
        raise Refused("A scheduled maintenance needs scheduled_for and scheduled_until.")
    if scheduled_until <= scheduled_for:
        raise Refused("scheduled_until must be after scheduled_for.")


@transaction.atomic
def maintenance_open(
    *,
    name: str,
    body: str,
    status: str,
    scheduled_for: datetime | None,
    scheduled_until: datetime | None,
    components: Iterable[Component],
    auto_start: bool = True,
    auto_complete: bool = True,
    notify: bool = True,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> Maintenance:
    """Statuspage's "create an incident" with a maintenance status: a
    scheduled maintenance (announced to subscribers unless `notify` is off),
    moved on to `status` at once when that is in_progress, verifying or
    completed."""
    if status not in MaintenanceStatus.values:
        raise Refused(f"{status!r} is not a maintenance status.")
    _window(scheduled_for, scheduled_until)
    at = at or timezone.now()
    maintenance = maintenance_create(
        name=name,
        body=body or DEFAULT_BODY[MaintenanceStatus.SCHEDULED],
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        components=list(components),
        auto_start=auto_start,
        auto_complete=auto_complete,
        at=at,
        actor=actor,
        actor_label=actor_label,
    )
    if status != MaintenanceStatus.SCHEDULED:
        maintenance_set_status(maintenance=maintenance, status=status, at=at, actor=actor, actor_label=actor_label)
    if not notify:
        # Still inside the transaction: the fan-out queued for after commit
        # reads the flag and emails nobody.
        MaintenanceUpdate.objects.filter(maintenance=maintenance).update(deliver_notifications=False)
    return Maintenance.objects.get(pk=maintenance.pk)


@transaction.atomic
def maintenance_change(
    *,
    maintenance: Maintenance,
    fields: dict,
    status: str | None = None,
    body: str | None = None,
    components: Iterable[Component] | None = None,
    notify: bool = True,
    at: datetime | None = None,
    actor,
    actor_label: str = "",
) -> Maintenance:
    """Statuspage's "update an incident" on a scheduled maintenance: its
    name, window, automation and components change in place; a new status
    (forward only: scheduled → in_progress → verifying → completed) posts
    an update with `body`; a `body` with no new status posts an update with
    the same status, told to subscribers when `notify`."""
    maintenance = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    if status is not None and status not in MaintenanceStatus.values:
        raise Refused(f"{status!r} is not a maintenance status (incident statuses are for incidents).")
    moves = status is not None and status != maintenance.status
    if fields or components is not None:
        _window(
            fields.get("scheduled_for", maintenance.scheduled_for),
            fields.get("scheduled_until", maintenance.scheduled_until),
        )
        maintenance_edit(
            maintenance=maintenance,
            fields=fields,
            components=list(components) if components is not None else list(maintenance.components.all()),
            actor=actor,
            actor_label=actor_label,
        )
    if moves:
        if status == MaintenanceStatus.SCHEDULED or not maintenance_set_status(
            maintenance=maintenance, status=status, body=body or "", at=at, actor=actor, actor_label=actor_label
        ):
            raise Refused(f"A maintenance that is {maintenance.status} cannot move to {status}.")
    elif body:
        maintenance_post_update(
            maintenance=maintenance, body=body, notify=notify, at=at, actor=actor, actor_label=actor_label
        )
    return Maintenance.objects.get(pk=maintenance.pk)
