import logging
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from compliance import abuse, audit, dashboard, terms
from compliance.models import AbuseSignal, AuditEvent

pytestmark = pytest.mark.django_db

COMPLIANCE_MODELS = [m for m in admin.site._registry if m._meta.app_label == "compliance"]


def test_a_signup_burst_from_one_ip_is_logged_hashed_and_counted(caplog, staff_client):
    with caplog.at_level(logging.WARNING, logger="levqor.security"):
        signals = [abuse.signup_observed(ip="203.0.113.66") for _ in range(5)]
    assert signals[:3] == [None, None, None]
    assert signals[3] is not None and signals[3].kind == "signup_burst" and signals[3].count == 4
    assert signals[4] is None  # one signal per burst, not one per sign-up
    assert "203.0.113.66" not in caplog.text
    assert signals[3].identifier_hash in caplog.text
    assert abuse.signup_observed(ip="198.51.100.3") is None  # another IP has its own count

    page = staff_client.get("/admin/").content.decode()
    assert "Abuse signals in the last 24 hours" in page


def test_billing_can_record_card_declines_with_hashed_identifiers(caplog):
    with caplog.at_level(logging.WARNING, logger="levqor.security"):
        signal = abuse.abuse_signal_record(kind="card_decline", identifier="cus_SECRET123", count=3)
    assert "cus_SECRET123" not in caplog.text and signal.identifier_hash in caplog.text
    assert abuse.abuse_signal_counts()["card_decline"] == 1
    with pytest.raises(ValueError):
        abuse.abuse_signal_record(kind="weird", identifier="x")


def test_old_signals_drop_off_the_index_count():
    abuse.abuse_signal_record(kind="card_testing", identifier="cus_1", now=timezone.now() - timedelta(hours=25))
    assert abuse.abuse_signal_count() == 0
    assert AbuseSignal.objects.count() == 1


def test_the_dashboard_shows_every_figure_to_staff(staff_client, staff, customer, published_terms):
    terms.terms_accept(user=customer, ip_address=None, mechanism="web")
    response = staff_client.get("/admin/compliance/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    for heading in (
        "Terms of service",
        "Cookie consent",
        "Marketing email",
        "Objections in force",
        "High-risk data screening",
        "DSAR backlog and deadlines",
        "Audit trail",
    ):
        assert heading in page, heading
    assert "100.0%" in page  # the one customer accepted
    assert "Audit chain intact" in page
    assert "Compliance dashboard" in staff_client.get("/admin/").content.decode()


def test_the_dashboard_shows_a_broken_audit_chain(staff_client, staff):
    audit.record(actor=staff, action="test.one", details={"a": 1})
    AuditEvent.objects.filter(action="test.one").update(action="test.tampered")
    assert "Audit chain broken" in staff_client.get("/admin/compliance/dashboard/").content.decode()


def test_the_dashboard_takes_sections_from_other_parts_of_compliance(staff_client):
    dashboard.register_section("DSAR backlog", lambda: [dashboard.Row("Overdue exports", 2, attention=True)])
    try:
        page = staff_client.get("/admin/compliance/dashboard/").content.decode()
    finally:
        dashboard._sections.pop("DSAR backlog")
    assert "Overdue exports" in page and "not tracked yet" not in page


def test_the_dashboard_is_for_staff_only(customer_client):
    response = customer_client.get("/admin/compliance/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("model", COMPLIANCE_MODELS, ids=lambda m: m._meta.model_name)
def test_every_compliance_admin_changelist_renders(staff_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert staff_client.get(url).status_code == 200


def test_retention_removes_old_security_and_consent_records_once(client, staff, django_capture_on_commit_callbacks):
    from axes.models import AccessFailureLog

    from compliance import marketing
    from compliance.dsar import retention
    from compliance.models import MarketingSubscription

    client.post("/admin/login/", {"username": staff.email, "password": "wrong"})
    abuse.abuse_signal_record(kind="card_testing", identifier="cus_1")
    marketing.marketing_subscribe(email="never@example.test")
    marketing.marketing_subscribe(email="recent@example.test")
    now = timezone.now()
    old = now - timedelta(days=91)
    AccessFailureLog.objects.update(attempt_time=old)
    AbuseSignal.objects.update(occurred_at=old)
    MarketingSubscription.objects.filter(email="never@example.test").update(confirm_sent_at=old)

    first = {o.kind: o.total for o in retention.retention_apply(now=now)}
    assert first["sign_in_attempts"] == 1 and first["abuse_signals"] == 1
    assert first["unconfirmed_subscriptions"] == 1
    assert set({o.kind: o.total for o in retention.retention_apply(now=now)}.values()) == {0}
    assert list(MarketingSubscription.objects.values_list("email", flat=True)) == ["recent@example.test"]
