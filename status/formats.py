"""Wire formats: Atlassian Statuspage v2 JSON and the two health formats.

Field names are exactly the public ones (Atlassian's Statuspage v2 API reference,
and the IETF draft "Health Check Response Format for HTTP APIs");
the mapping from our states to Statuspage's lives in `selectors`.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from .models import Component, ComponentStatus, Incident, IncidentUpdate, Maintenance, Probe, State
from .selectors import ComponentView, PageState
from .state import Evaluation, component_status

# --- Statuspage v2 ---------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the page's offset and milliseconds, like Statuspage."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).isoformat(timespec="milliseconds")


def page_url() -> str:
    return settings.LEVQOR_BASE_URL + reverse("status:page")


def page_dict(state: PageState) -> dict:
    return {
        "id": settings.LEVQOR_STATUS_PAGE_ID,
        "name": "Levqor",
        "url": page_url(),
        "time_zone": settings.TIME_ZONE,
        "updated_at": iso(state.updated_at),
    }


def status_dict(state: PageState) -> dict:
    return {"indicator": state.indicator, "description": state.description}


@dataclass(frozen=True)
class Lookup:
    """Per-response lookups, so nested objects cost no extra query."""

    statuses: dict[int, str]  # component pk -> Statuspage status
    groups: dict[int, str]  # visible group pk -> public id

    @classmethod
    def of(cls, state: PageState) -> "Lookup":
        return cls(
            statuses={v.component.pk: v.status for v in state.all_components},
            groups={v.component.pk: v.component.public_id for v in state.all_components if v.component.is_group},
        )


def component_dict(
    component: Component, status: str, lookup: Lookup, children: list[ComponentView] | None = None
) -> dict:
    data = {
        "id": component.public_id,
        "name": component.name,
        "status": status,
        "created_at": iso(component.created_at),
        "updated_at": iso(component.checked_at or component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": not component.is_group,
        "start_date": None,
        "group_id": lookup.groups.get(component.group_id),
        "page_id": settings.LEVQOR_STATUS_PAGE_ID,
        "group": component.is_group,
        "only_show_if_degraded": component.only_show_if_degraded,
    }
    if component.is_group:
        data["components"] = [child.component.public_id for child in children or []]
    return data


def components_list(state: PageState, lookup: Lookup) -> list[dict]:
    return [component_dict(v.component, v.status, lookup, v.children) for v in state.all_components]


def _update_dict(update: IncidentUpdate | None, *, parent_id: str, maintenance=None) -> dict:
    if maintenance is not None:
        return {
            "id": update.public_id,
            "status": update.status,
            "body": update.body,
            "incident_id": parent_id,
            "created_at": iso(update.created_at),
            "updated_at": iso(update.created_at),
            "display_at": iso(update.display_at),
            "affected_components": None,
            "deliver_notifications": update.deliver_notifications,
            "custom_tweet": None,
            "tweet_id": None,
        }
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": parent_id,
        "created_at": iso(update.created_at),
        "updated_at": iso(update.updated_at),
        "display_at": iso(update.display_at),
        "affected_components": update.affected_components or None,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _shortlink(public_id: str) -> str:
    return settings.LEVQOR_BASE_URL + reverse("status:incident", args=[public_id])


def _component_objects(components: list[Component], lookup: Lookup) -> list[dict]:
    return [
        component_dict(c, lookup.statuses.get(c.pk) or component_status(c.state), lookup)
        for c in components
        if not c.hidden
    ]


def incident_dict(incident: Incident, lookup: Lookup) -> dict:
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(incident.monitoring_at),
        "resolved_at": iso(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": _shortlink(incident.public_id),
        "started_at": iso(incident.started_at),
        "page_id": settings.LEVQOR_STATUS_PAGE_ID,
        "incident_updates": [_update_dict(u, parent_id=incident.public_id) for u in incident.updates.all()],
        "components": _component_objects([a.component for a in incident.affected.all()], lookup),
    }


def maintenance_dict(maintenance: Maintenance, lookup: Lookup) -> dict:
    return {
        "id": maintenance.public_id,
        "name": maintenance.name,
        "status": maintenance.status,
        "created_at": iso(maintenance.created_at),
        "updated_at": iso(maintenance.updated_at),
        "monitoring_at": None,
        "resolved_at": iso(maintenance.completed_at),
        "impact": maintenance.impact,
        "shortlink": _shortlink(maintenance.public_id),
        "started_at": iso(maintenance.started_at or maintenance.scheduled_for),
        "page_id": settings.LEVQOR_STATUS_PAGE_ID,
        "incident_updates": [
            _update_dict(u, parent_id=maintenance.public_id, maintenance=maintenance) for u in maintenance.updates.all()
        ],
        "components": _component_objects(list(maintenance.components.all()), lookup),
        "scheduled_for": iso(maintenance.scheduled_for),
        "scheduled_until": iso(maintenance.scheduled_until),
    }


# --- Health ------------------------------------------------------------------------


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def health_simple(report: Evaluation) -> dict:
    """`{ok, timestamp, components: {slug: {ok, status, latencyMs}}}`: the
    public components, each judged by the one evaluation."""
    return {
        "ok": report.ok,
        "timestamp": _utc(report.timestamp),
        "components": {
            c.slug: {"ok": c.ok, "status": c.health_state, "latencyMs": c.latency_ms} for c in report.visible
        },
    }


# Notes are written by our probes, but a health document is public: only
# notes of the shapes the probes produce are shown, anything else is replaced.
_PUBLIC_NOTES = re.compile(
    r"^(slower than \d+ ms|no answer within [\d.]+ m?s|check failed \(\w+\)|unreachable \(\w+\)"
    r"|last heartbeat \d+ s ago|no worker heartbeat recorded|HTTP \d{3}|no contact recorded yet|not probed"
    r"|value written was not read back|last call failed|no workflow runs table yet"
    r"|monitoring delayed since (never|[\d: -]+ UTC))"
    r"( \(last contact [\d: -]+ UTC\))?$"
)


def public_note(note: str) -> str:
    return note if _PUBLIC_NOTES.match(note or "") else "see the status page"


CHECK_STATUS = {
    ComponentStatus.OPERATIONAL: "pass",
    ComponentStatus.DEGRADED_PERFORMANCE: "warn",
    ComponentStatus.UNDER_MAINTENANCE: "warn",
    ComponentStatus.PARTIAL_OUTAGE: "fail",
    ComponentStatus.MAJOR_OUTAGE: "fail",
}
COMPONENT_TYPE = {Probe.DATABASE: "datastore", Probe.CACHE: "datastore"}


def _check_output(c) -> str:
    if c.status == ComponentStatus.OPERATIONAL and not c.stale:
        return ""
    parts = []
    if c.status != ComponentStatus.OPERATIONAL:
        parts.append(ComponentStatus(c.status).label.lower())
    if c.state != State.UP and c.note:
        parts.append(public_note(c.note))
    if c.stale:
        parts.append("result not current: monitoring delayed")
    return "; ".join(parts)


def _overall_output(report: Evaluation) -> str:
    if not report.visible:
        return "no component results stored yet"
    parts = []
    if report.stale:
        parts.append(f"monitoring delayed since {_utc(report.results_at) or 'never'}")
    outages = [f"{c.slug} {c.status}" for c in report.outages]
    if outages:
        parts.append("outage: " + ", ".join(outages))
    impacts = [i["impact"] for i in report.incidents if i["impact"] in ("major", "critical")]
    if impacts:
        parts.append(f"incident declared ({', '.join(sorted(set(impacts)))} impact)")
    return "; ".join(parts)


def health_ietf(report: Evaluation) -> dict:
    """The IETF health check draft's `application/health+json` document."""
    checks = {}
    for c in report.visible:
        check = {
            "componentId": c.public_id or c.slug,
            "componentType": COMPONENT_TYPE.get(c.probe, "component"),
            "status": CHECK_STATUS.get(c.status, "fail"),
            "time": _utc(c.checked_at or report.timestamp),
            "output": _check_output(c),
        }
        if c.probe == Probe.QUEUE:
            age = None if c.checked_at is None else round((report.timestamp - c.checked_at).total_seconds(), 1)
            checks[f"{c.slug}:heartbeatAge"] = [{**check, "observedValue": age, "observedUnit": "s"}]
        else:
            checks[f"{c.slug}:responseTime"] = [{**check, "observedValue": c.latency_ms, "observedUnit": "ms"}]
    if not report.ok:
        status = "fail"
    else:
        status = "warn" if report.warn or report.indicator != "none" else "pass"
    return {
        "status": status,
        "version": "1",
        "serviceId": "levqor-console",
        "description": "Health of the Levqor console, from the latest stored probe results",
        "output": _overall_output(report) if status != "pass" else "",
        "checks": checks,
        "links": {"about": page_url()},
    }
