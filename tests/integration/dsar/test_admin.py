"""Admin for data requests: lists, filters, deadline column, actions, and
the audit entry for every view and action."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from compliance.dsar import deadlines, exports
from compliance.dsar.models import DataExport, ErasureRequest
from compliance.models import AuditEvent

from .helpers import link_path, request_and_build

pytestmark = pytest.mark.django_db

EXPORTS = "/admin/compliance/dataexport/"
ERASURES = "/admin/compliance/erasurerequest/"


@pytest.fixture
def ready(customer, django_capture_on_commit_callbacks) -> DataExport:
    return request_and_build(customer, capture=django_capture_on_commit_callbacks)


def act(client, url, action, ids, **extra):
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids], **extra}, follow=True)


def test_it_lists_exports_with_filters_and_audits_the_views(staff_client, staff, ready):
    year = timezone.localdate().year
    for query in ("", "?status__exact=ready", "?deadline=overdue", "?q=owner@acme", f"?requested_at__year={year}"):
        response = staff_client.get(EXPORTS + query)
        assert response.status_code == 200, query
    assert "owner@acme.test" in staff_client.get(EXPORTS + "?q=owner@acme").content.decode()
    assert AuditEvent.objects.filter(action="dsar.export_list_viewed", actor=staff).count() == 6
    response = staff_client.get(f"{EXPORTS}{ready.pk}/change/")
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="dsar.export_viewed", actor=staff, target_id=str(ready.pk)).count() == 1


def test_it_shows_days_left_and_overdue(staff_client, customer):
    late = DataExport.objects.create(
        user=customer,
        **{
            **deadlines.deadline_fields(timezone.now() - timedelta(days=40)),
            "deadline_on": timezone.localdate() - timedelta(days=9),
        },
    )
    page = staff_client.get(EXPORTS).content.decode()
    assert "9 days overdue" in page
    page = staff_client.get(EXPORTS + "?deadline=overdue").content.decode()
    assert f"{EXPORTS}{late.pk}/change/" in page
    assert list(exports.exports_overdue()) == [late]


def test_it_resends_invalidates_and_rebuilds(staff_client, staff, ready, customer, django_capture_on_commit_callbacks):
    customer_client = Client()  # staff_client is pytest-django's `client`
    customer_client.force_login(customer)
    first_link = link_path(mail.outbox[-1])
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, EXPORTS, "resend_email", [ready.pk])
    assert len(mail.outbox) == 2
    confirm = act(staff_client, EXPORTS, "invalidate_link", [ready.pk])
    assert "stop working at once" in confirm.content.decode() and customer_client.get(first_link).status_code == 200
    act(staff_client, EXPORTS, "invalidate_link", [ready.pk], apply="1")
    assert customer_client.get(first_link).status_code == 410
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, EXPORTS, "resend_email", [ready.pk])
    assert len(mail.outbox) == 2  # an invalidated export is not resent
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, EXPORTS, "rebuild", [ready.pk], apply="1")
    ready.refresh_from_db()
    assert ready.status == DataExport.Status.READY and ready.invalidated_at is None
    assert customer_client.get(first_link).status_code == 410  # old links stay dead
    assert customer_client.get(link_path(mail.outbox[-1])).status_code == 200
    actions = set(AuditEvent.objects.filter(actor=staff).values_list("action", flat=True))
    assert {"dsar.export_resent", "dsar.export_invalidated", "dsar.export_rebuild"} <= actions


def test_it_extends_the_deadline_with_a_reason_only_in_the_first_month(
    staff_client, staff, customer, django_capture_on_commit_callbacks
):
    export = DataExport.objects.create(user=customer, **deadlines.deadline_fields(timezone.now()))
    form = act(staff_client, EXPORTS, "extend_deadline", [export.pk])
    assert "reason" in form.content.decode()  # the intermediate page
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, EXPORTS, "extend_deadline", [export.pk], apply="1", months="2", reason="Very large account")
    export.refresh_from_db()
    assert export.extension_months == 2
    from compliance.dsar.models import add_months

    assert export.deadline_on == add_months(export.received_on, 3)
    assert "Very large account" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="dsar.export_deadline_extended", actor=staff).exists()
    # No more than two months in all.
    page = act(staff_client, EXPORTS, "extend_deadline", [export.pk], apply="1", months="1", reason="More")
    assert "two months at most" in page.content.decode()

    old = DataExport.objects.create(user=customer, **deadlines.deadline_fields(timezone.now() - timedelta(days=40)))
    page = act(staff_client, EXPORTS, "extend_deadline", [old.pk], apply="1", months="1", reason="Late")
    assert "only be extended while the first month runs" in page.content.decode()
    old.refresh_from_db()
    assert old.extension_months == 0


def test_it_reviews_erasure_requests(staff_client, staff, customer, django_capture_on_commit_callbacks):
    from compliance.dsar import erasure

    with django_capture_on_commit_callbacks(execute=True):
        request = erasure.erasure_request(user=customer, actor=customer)
    assert staff_client.get(ERASURES).status_code == 200
    assert staff_client.get(f"{ERASURES}{request.pk}/change/").status_code == 200
    assert AuditEvent.objects.filter(action="erasure.request_viewed", actor=staff).exists()
    page = act(staff_client, ERASURES, "refuse", [request.pk], apply="1", reason="")
    assert "This field is required" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, ERASURES, "refuse", [request.pk], apply="1", reason="We must keep invoices for 6 years")
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.REFUSED
    assert "6 years" in mail.outbox[-1].body


def test_it_shows_the_queues_on_the_admin_index_and_dashboard(staff_client, customer):
    DataExport.objects.create(
        user=customer,
        **{
            **deadlines.deadline_fields(timezone.now() - timedelta(days=40)),
            "deadline_on": timezone.localdate() - timedelta(days=9),
        },
    )
    index = staff_client.get("/admin/").content.decode()
    assert "Data exports overdue" in index
    dashboard = staff_client.get("/admin/compliance/dashboard/").content.decode()
    assert "DSAR backlog and deadlines" in dashboard and "Data exports overdue" in dashboard


def test_approving_an_erasure_asks_first_and_says_it_cannot_be_undone(staff_client, staff, customer):
    from compliance.dsar import erasure

    request = erasure.erasure_request(user=customer, note="", actor=customer)

    page = act(staff_client, ERASURES, "approve", [request.pk]).content.decode()

    assert "This cannot be undone." in page and "account is closed" in page
    assert 'value="Erase the data and close the account"' in page
    crumbs = page.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    assert 'href="/admin/"' in crumbs and 'href="/admin/compliance/erasurerequest/"' in crumbs
    assert "Approve erasure" in crumbs
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.PENDING
