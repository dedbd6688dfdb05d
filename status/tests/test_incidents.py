from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task, result

from compliance import audit
from compliance.models import AuditEvent
from levqor.lib import attention
from status import services
from status.models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    Maintenance,
    MaintenanceStatus,
    Snapshot,
)

pytestmark = pytest.mark.django_db

BANNER_PAGES = ("/status", "/login", "/pricing")


def open_incident(staff, components, **kwargs):
    defaults = {
        "name": "Payments failing",
        "impact": Impact.MAJOR,
        "body": "Card payments fail; we are investigating.",
        "components": [(components["stripe"], ComponentStatus.MAJOR_OUTAGE)],
        "actor": staff,
    }
    return services.incident_create(**{**defaults, **kwargs})


def test_an_incident_keeps_its_timeline_and_is_audited(staff, components):
    incident = open_incident(staff, components)
    services.incident_update(incident=incident, status=IncidentStatus.IDENTIFIED, body="Found it.", actor=staff)
    services.incident_update(incident=incident, status=IncidentStatus.MONITORING, body="Fixed; watching.", actor=staff)
    services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="All good.", actor=staff)

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.monitoring_at is not None and incident.resolved_at is not None
    statuses = list(incident.updates.order_by("display_at", "id").values_list("status", flat=True))
    assert statuses == ["investigating", "identified", "monitoring", "resolved"]
    last = incident.updates.order_by("-id").first()
    assert last.affected_components[0]["old_status"] == "major_outage"
    assert last.affected_components[0]["new_status"] == "operational"
    assert last.deliver_notifications  # resolving always notifies
    actions = list(audit.entries_for(incident).values_list("action", flat=True))
    assert actions == ["status.incident.created"] + ["status.incident.updated"] * 3
    assert audit.verify().ok


@pytest.mark.parametrize("path", BANNER_PAGES)
def test_the_banner_shows_while_an_incident_is_open_and_goes_when_resolved(
    client, staff, components, path, django_capture_on_commit_callbacks
):
    assert "Ongoing incident" not in client.get(path).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(staff, components)

    page = client.get(path).content.decode()
    assert 'class="banner banner-danger"' in page and "Ongoing incident: Payments failing" in page

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update(incident=incident, status=IncidentStatus.RESOLVED, body="Fixed.", actor=staff)
    assert "Ongoing incident" not in client.get(path).content.decode()


def test_a_maintenance_in_progress_shows_an_info_banner(client, staff, components, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.maintenance_create(
            name="Database upgrade",
            body="x",
            scheduled_for=now - timedelta(minutes=1),
            scheduled_until=now + timedelta(hours=1),
            actor=staff,
        )
        services.maintenance_advance(now=now)
    assert "Maintenance in progress: Database upgrade" in client.get("/pricing").content.decode()


def test_maintenance_starts_and_completes_on_its_own_once(staff, components, stub_probes):
    now = timezone.now()
    maintenance = services.maintenance_create(
        name="Upgrade",
        body="x",
        scheduled_for=now + timedelta(minutes=10),
        scheduled_until=now + timedelta(minutes=40),
        components=[components["database"]],
        at=now - timedelta(hours=48),  # announced two days ahead, as /sla requires
        actor=staff,
    )
    assert services.maintenance_advance(now=now) == (0, 0)
    start = now + timedelta(minutes=11)
    assert services.maintenance_advance(now=start) == (1, 0)
    assert services.maintenance_advance(now=start) == (0, 0)
    services.snapshot_take(now=start)
    assert Snapshot.objects.get(component=components["database"]).in_maintenance
    assert not Snapshot.objects.get(component=components["web"]).in_maintenance

    end = now + timedelta(minutes=41)
    assert services.maintenance_advance(now=end) == (0, 1)
    assert services.maintenance_advance(now=end) == (0, 0)
    maintenance.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert list(maintenance.updates.order_by("id").values_list("status", flat=True)) == [
        "scheduled",
        "in_progress",
        "completed",
    ]


def test_the_maintenance_task_runs_twice_with_one_effect(staff, components):
    now = timezone.now()
    services.maintenance_create(
        name="U",
        body="x",
        scheduled_for=now - timedelta(minutes=1),
        scheduled_until=now + timedelta(hours=1),
        actor=staff,
    )
    assert result(async_task("status.tasks.maintenance_advance")) == (1, 0)
    assert result(async_task("status.tasks.maintenance_advance")) == (0, 0)


def test_the_admin_index_counts_unresolved_incidents(staff_client, staff, components):
    open_incident(staff, components)
    resolved = open_incident(staff, components, name="Old")
    services.incident_update(incident=resolved, status=IncidentStatus.RESOLVED, body="ok", actor=staff)

    counts = {q.label: q for q in attention.queue_counts()}
    assert counts["Unresolved incidents"].count == 1
    page = staff_client.get("/admin/").content.decode()
    assert "Unresolved incidents" in page and "/admin/status/incident/?state=unresolved" in page


def _incident_post(**extra):
    data = {
        "name": "API errors",
        "impact": "major",
        "started_at": "",
        "update_status": "investigating",
        "update_body": "Errors on the API.",
        "affected-TOTAL_FORMS": "1",
        "affected-INITIAL_FORMS": "0",
        "affected-0-component": "",
        "affected-0-status": "partial_outage",
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def test_staff_open_and_update_an_incident_in_admin(
    staff_client, staff, components, django_capture_on_commit_callbacks
):
    web = components["web"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:status_incident_add"), _incident_post(**{"affected-0-component": str(web.pk)})
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get()
    assert (incident.name, incident.status, incident.impact) == ("API errors", "investigating", "major")
    assert list(incident.affected.values_list("component__slug", "status")) == [("web", "partial_outage")]
    assert incident.updates.get().body == "Errors on the API."

    change = reverse("admin:status_incident_change", args=[incident.pk])
    affected = incident.affected.get()
    data = _incident_post(
        update_status="resolved",
        update_body="Fixed.",
        **{
            "affected-INITIAL_FORMS": "1",
            "affected-0-id": str(affected.pk),
            "affected-0-incident": str(incident.pk),
            "affected-0-component": str(web.pk),
            "updates-TOTAL_FORMS": "1",
            "updates-INITIAL_FORMS": "1",
            "updates-0-id": str(incident.updates.get().pk),
            "updates-0-incident": str(incident.pk),
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.updates.count() == 2
    assert staff_client.get(change).status_code == 200


def test_an_incident_needs_a_first_update(staff_client, components):
    response = staff_client.post(reverse("admin:status_incident_add"), _incident_post(update_body=""))
    assert response.status_code == 200
    assert not Incident.objects.exists()


def test_a_template_fills_in_a_new_incident(staff_client, components):
    template = IncidentTemplate.objects.create(name="Slow", title="Slower than usual", impact="minor", body="Slow.")
    template.components.add(components["web"])
    listing = staff_client.get(reverse("admin:status_incidenttemplate_changelist")).content.decode()
    assert f"/admin/status/incident/add/?template={template.pk}" in listing

    page = staff_client.get(reverse("admin:status_incident_add") + f"?template={template.pk}").content.decode()
    assert 'value="Slower than usual"' in page and "Slow.</textarea>" in page
    assert f'<option value="{components["web"].pk}" selected>' in page


def test_staff_schedule_and_start_maintenance_in_admin(staff_client, components):
    now = timezone.localtime()
    response = staff_client.post(
        reverse("admin:status_maintenance_add"),
        {
            "name": "Upgrade",
            "body": "Short pause.",
            "scheduled_for_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            "scheduled_for_1": "02:00:00",
            "scheduled_until_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            "scheduled_until_1": "03:00:00",
            "auto_start": "on",
            "auto_complete": "on",
            "components": [str(components["database"].pk)],
            "updates-TOTAL_FORMS": "0",
            "updates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    maintenance = Maintenance.objects.get()
    assert list(maintenance.components.values_list("slug", flat=True)) == ["database"]
    response = staff_client.post(
        reverse("admin:status_maintenance_changelist"), {"action": "start_now", "_selected_action": [maintenance.pk]}
    )
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"


def test_staff_rename_reorder_and_hide_components_with_an_audit_entry(staff_client, components):
    web = components["web"]
    url = reverse("admin:status_component_change", args=[web.pk])
    data = {
        "name": "Console and API",
        "description": "d",
        "position": "5",
        "group": "",
        "hidden": "on",
        "slug": "web",
        "probe": "web",
        "critical": "on",
        "degraded_after_ms": "800",
    }
    assert staff_client.post(url, data).status_code == 302
    web.refresh_from_db()
    assert (web.name, web.position, web.hidden, web.degraded_after_ms) == ("Console and API", 5, True, 800)
    assert AuditEvent.objects.filter(action="status.component.edited", target_id=str(web.pk)).exists()
    assert 'data-component="web"' not in staff_client.get("/status").content.decode()


def test_every_status_admin_page_renders(staff_client, staff, components, stub_probes):
    services.snapshot_take()
    services.rollup_recent()
    open_incident(staff, components)
    IncidentTemplate.objects.create(name="t", title="t", body="b")
    services.maintenance_create(
        name="m",
        body="b",
        scheduled_for=timezone.now(),
        scheduled_until=timezone.now() + timedelta(hours=1),
        actor=staff,
    )
    from status.models import DailyRollup, Subscriber

    Subscriber.objects.create(email="s@x.test")
    for model in (Component, Incident, IncidentTemplate, Maintenance, Subscriber, Snapshot, DailyRollup):
        meta = model._meta
        assert staff_client.get(reverse(f"admin:status_{meta.model_name}_changelist")).status_code == 200
        obj = model.objects.first()
        assert staff_client.get(reverse(f"admin:status_{meta.model_name}_change", args=[obj.pk])).status_code == 200
    assert staff_client.get(reverse("admin:status_incident_changelist") + "?state=all").status_code == 200
    assert Component.objects.count() == 7


def test_the_incident_start_has_date_and_time_pickers(staff_client, staff, components):
    page = staff_client.get(reverse("admin:status_incident_add")).content.decode()
    assert 'name="started_at_0" class="vDateField"' in page and 'name="started_at_1" class="vTimeField"' in page

    response = staff_client.post(
        reverse("admin:status_incident_add"),
        _incident_post(started_at_0="2026-03-04", started_at_1="09:30:00"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    started = timezone.localtime(Incident.objects.get().started_at)
    assert (started.date().isoformat(), started.strftime("%H:%M")) == ("2026-03-04", "09:30")
