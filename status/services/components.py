"""Components as staff describe them: the status they set outside any
incident (Statuspage's "update a component"), name and description."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from compliance import audit

from .. import cache_keys
from ..models import Component, ComponentStatus
from .webhooks import component_changes_publish_on_commit


@transaction.atomic
def component_status_set(*, component: Component, status: str, actor, actor_label: str = "") -> bool:
    """Set the status staff declare for a component (Statuspage vocabulary).
    `status.state` shows the worst of this, the probe and open incidents, so
    /status, /api/v2/* and health agree; `operational` clears the
    declaration. A group's status is its children's, so groups refuse.
    Claimed with a conditional UPDATE: setting the same status twice (or on
    two workers) changes and audits it once. After commit, the change is
    published to webhook subscribers (`component_update`, claimed once, as
    after incidents). Returns whether it changed."""
    if status not in ComponentStatus.values:
        raise ValueError(f"Unknown component status {status!r}.")
    if component.is_group:
        raise ValueError("A group's status is the worst of its components': set theirs instead.")
    declared = None if status == ComponentStatus.OPERATIONAL else status
    before = Component.objects.filter(pk=component.pk).values_list("declared_status", flat=True).first()
    differs = (
        Q(declared_status__isnull=False)
        if declared is None
        else (Q(declared_status__isnull=True) | ~Q(declared_status=declared))
    )
    changed = Component.objects.filter(differs, pk=component.pk).update(
        declared_status=declared, updated_at=timezone.now()
    )
    component.declared_status = declared
    if not changed:
        return False
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.component.status_set",
        target=component,
        details={"from": before or ComponentStatus.OPERATIONAL.value, "to": status},
    )
    transaction.on_commit(cache_keys.forget_incidents)
    component_changes_publish_on_commit()  # webhook subscribers hear of it now
    return True


@transaction.atomic
def component_describe(
    *,
    component: Component,
    name: str | None = None,
    description: str | None = None,
    only_show_if_degraded: bool | None = None,
    actor,
    actor_label: str = "",
) -> Component:
    """Rename a component, change its description or whether it shows only
    when degraded. Audited when something changed."""
    changes = {}
    if only_show_if_degraded is not None and only_show_if_degraded != component.only_show_if_degraded:
        changes["only_show_if_degraded"] = only_show_if_degraded
    if name is not None and name != component.name:
        changes["name"] = name
    if description is not None and description != component.description:
        changes["description"] = description
    if not changes:
        return component
    for field, value in changes.items():
        setattr(component, field, value)
    component.save(update_fields=[*changes, "updated_at"])
    audit.record(
        actor=actor,
        actor_label=actor_label,
        action="status.component.edited",
        target=component,
        details={"fields": sorted(changes)},
    )
    transaction.on_commit(cache_keys.forget_incidents)
    return component


@transaction.atomic
def component_update(
    *,
    component: Component,
    status: str | None = None,
    name: str | None = None,
    description: str | None = None,
    only_show_if_degraded: bool | None = None,
    actor,
    actor_label: str = "",
) -> Component:
    """Statuspage's "update a component": its declared status and its
    description fields, in one transaction (each part audited)."""
    if status is not None:
        component_status_set(component=component, status=status, actor=actor, actor_label=actor_label)
    component_describe(
        component=component,
        name=name,
        description=description,
        only_show_if_degraded=only_show_if_degraded,
        actor=actor,
        actor_label=actor_label,
    )
    return component
