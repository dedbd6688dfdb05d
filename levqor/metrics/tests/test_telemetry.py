"""Telemetry: anonymous (event, hour, count) rows, only with analytics
consent and without an objection; an admin chart of the last 30 days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import objections
from levqor.metrics import services
from levqor.metrics.models import TelemetryCount

pytestmark = pytest.mark.django_db


def _consent(client, choice: str):
    response = client.post("/cookies/consent", {"choice": choice, "next": "/pricing"})
    assert response.status_code == 302


def _counts() -> dict:
    return {row.event: row.count for row in TelemetryCount.objects.all()}


def test_nothing_is_recorded_without_consent(client):
    client.get("/pricing")
    client.get("/pricing", {"hours": "5", "rate": "20"})
    assert client.post("/telemetry", {"event": "exit_prompt_shown"}).status_code == 204

    assert TelemetryCount.objects.count() == 0


def test_nothing_is_recorded_after_rejecting_analytics(client):
    _consent(client, "reject_all")

    client.get("/pricing")
    client.post("/telemetry", {"event": "exit_prompt_shown"})

    assert TelemetryCount.objects.count() == 0


def test_with_consent_it_counts_events_per_hour_and_nothing_else(client):
    _consent(client, "accept_all")

    client.get("/pricing")
    client.get("/pricing")
    client.get("/pricing", {"hours": "5", "rate": "20"})
    client.post("/telemetry", {"event": "exit_prompt_shown"})

    assert _counts() == {"pricing_viewed": 2, "roi_calculated": 1, "exit_prompt_shown": 1}
    row = TelemetryCount.objects.get(event="pricing_viewed")
    assert row.hour.minute == 0 and row.hour.second == 0
    assert {field.name for field in TelemetryCount._meta.get_fields()} == {"id", "event", "hour", "count"}


def test_a_signed_in_objection_to_analytics_stops_it(client, customer):
    client.force_login(customer)
    _consent(client, "accept_all")
    objections.objections_set(user=customer, choices={"analytics": True}, source="test", actor=customer)

    client.get("/pricing")

    assert TelemetryCount.objects.count() == 0


def test_unknown_events_are_refused(client):
    _consent(client, "accept_all")

    assert client.post("/telemetry", {"event": "user_email=ada@example.com"}).status_code == 400
    assert client.get("/telemetry").status_code == 405
    assert TelemetryCount.objects.count() == 0


def test_the_admin_charts_the_last_30_days(staff_client):
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    TelemetryCount.objects.create(event="roi_calculated", hour=now, count=4)
    TelemetryCount.objects.create(event="roi_calculated", hour=now - timedelta(days=3), count=2)
    TelemetryCount.objects.create(event="roi_calculated", hour=now - timedelta(days=45), count=99)

    page = staff_client.get("/admin/metrics/telemetrycount/").content.decode()

    assert "Last 30 days" in page
    assert "<strong>roi_calculated</strong>: 6 in 30 days" in page
    assert page.count("<rect") >= 30


def test_old_counts_are_pruned(db):
    now = timezone.now()
    TelemetryCount.objects.create(event="pricing_viewed", hour=now - timedelta(days=500), count=1)
    TelemetryCount.objects.create(event="pricing_viewed", hour=now, count=1)

    assert services.counts_prune(telemetry_before=now - timedelta(days=400), errors_before=now)["telemetry"] == 1
    assert services.counts_prune(telemetry_before=now - timedelta(days=400), errors_before=now)["telemetry"] == 0
    assert TelemetryCount.objects.count() == 1
