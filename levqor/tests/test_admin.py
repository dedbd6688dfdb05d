import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from compliance import audit
from compliance.models import AuditEvent
from levqor.lib import attention

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "compliance", "billing", "status", "support", "pages", "workflows", "api"}


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("sync_schedules")


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.slow
def test_every_admin_changelist_add_and_change_page_renders(staff_client, seeded):
    missing_rows = []
    for model, model_admin in admin.site._registry.items():
        assert staff_client.get(admin_url(model, "changelist")).status_code == 200, model
        if model_admin.has_add_permission(_request(staff_client)):
            assert staff_client.get(admin_url(model, "add")).status_code == 200, model
        obj = model.objects.first()
        if obj is None:
            if model._meta.app_label in OUR_APPS:
                missing_rows.append(model._meta.label)
            continue
        assert staff_client.get(admin_url(model, "change", obj.pk)).status_code == 200, model
    # Every one of our models has demo data, so its change page was really exercised.
    assert missing_rows == []


def _request(client):
    from django.test import RequestFactory

    from levqor.accounts.models import User

    request = RequestFactory().get("/")
    request.user = User.objects.get(email="staff@levqor.test")
    return request


def test_the_site_is_titled_levqor_and_shows_needs_attention(staff_client):
    response = staff_client.get("/admin/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Levqor" in page
    assert "Needs attention" in page
    for queue in attention.queue_counts():
        assert queue.label in page


def test_the_index_says_so_when_no_queue_is_registered(staff_client, monkeypatch):
    monkeypatch.setattr(attention, "_queues", {})
    assert "Nothing needs attention" in staff_client.get("/admin/").content.decode()


def test_registered_queues_show_their_counts_and_links(staff_client, customer):
    attention.register(
        "Accounts paused for billing",
        count=lambda: 3,
        url_name="admin:accounts_account_changelist",
        query="billing_state__exact=paused_billing",
    )
    try:
        page = staff_client.get("/admin/").content.decode()
    finally:
        attention.unregister("Accounts paused for billing")
    assert "Accounts paused for billing" in page
    assert "/admin/accounts/account/?billing_state__exact=paused_billing" in page
    assert "<strong>3</strong>" in page


def test_the_audit_trail_is_read_only_in_admin(staff_client, staff):
    event = audit.record(actor=staff, action="test.viewed", details={"k": "v"})
    change = admin_url(AuditEvent, "change", event.pk)

    assert staff_client.get(change).status_code == 200
    assert staff_client.get(admin_url(AuditEvent, "add")).status_code == 403
    staff_client.post(change, {"action": "forged"})
    assert AuditEvent.objects.get(pk=event.pk).action == "test.viewed"
    assert staff_client.post(admin_url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_customers_cannot_use_the_admin(customer_client):
    response = customer_client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
