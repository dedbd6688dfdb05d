"""The ticket desk: customers open and follow tickets (pages and API), staff
work them in admin, the first-response clock comes from the locked plans."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent, OutboundEmail
from compliance.outbox.services import email_deliver
from levqor.accounts.models import Account
from levqor.api.models import ApiKey
from levqor.api.testing import ApiCaller, issue_key
from levqor.lib import attention, backlogs
from levqor.plans import PLANS
from support import selectors, services
from support.models import CannedReply, Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def _open(account, user, *, subject="Runs stuck", body="My workflow run is stuck.", now=None, **kwargs):
    return services.ticket_open(account=account, user=user, subject=subject, body=body, actor=user, now=now, **kwargs)


def _sent(template: str) -> list:
    return [m for m in mail.outbox if template in m.tags]


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.code)
def test_it_sets_the_first_response_due_time_from_the_plan(plan, customer_account, customer):
    Account.objects.filter(pk=customer_account.pk).update(plan=plan.code)
    customer_account.refresh_from_db()
    opened = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # the night the clocks change: calendar hours all the same
    ticket = _open(customer_account, customer, now=opened)
    assert ticket.first_response_due_at == opened + timedelta(hours=plan.support_sla_hours)
    assert ticket.sla_hours == plan.support_sla_hours and ticket.plan == plan.code


def test_it_opens_a_ticket_from_the_support_page_and_emails_both_sides_once(
    customer_client, customer, django_capture_on_commit_callbacks
):
    page = customer_client.get("/support")
    assert page.status_code == 200 and "24 hours" in page.content.decode()  # growth
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/support", {"subject": "Help", "body": "Cannot sign in."})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/support/tickets/{ticket.pk}"
    assert [m.to for m in _sent("support-ticket-received")] == [["support@levqor.local"]]
    assert [m.to for m in _sent("support-ticket-opened")] == [[customer.email]]
    # Delivering again (a retried task, a second worker) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        for email in OutboundEmail.objects.all():
            email_deliver(email_id=email.pk)
    assert len(mail.outbox) == 2
    detail = customer_client.get(response["Location"]).content.decode()
    assert "Cannot sign in." in detail and "First response due by" in detail


def test_it_refuses_a_ticket_without_subject_or_body(customer_client):
    response = customer_client.post("/support", {"subject": "", "body": " "})
    assert response.status_code == 400 and Ticket.objects.count() == 0
    assert "This field is required." in response.content.decode()


def test_it_hides_another_customers_ticket(client, customer_account, customer, other_customer):
    ticket = _open(customer_account, customer)
    client.force_login(other_customer)
    assert client.get(f"/support/tickets/{ticket.pk}").status_code == 404
    assert client.post(f"/support/tickets/{ticket.pk}", {"body": "mine?"}).status_code == 404
    assert "Runs stuck" not in client.get("/support").content.decode()


def test_it_stops_the_clock_on_the_first_staff_reply_and_hides_internal_notes(
    customer_account, customer, staff, customer_client, django_capture_on_commit_callbacks
):
    opened = timezone.now() - timedelta(hours=2)
    ticket = _open(customer_account, customer, now=opened)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_note(ticket=ticket, body="VIP: check the logs", actor=staff)
        services.ticket_reply(ticket=ticket, body="Fixed it for you.", actor=staff)
        services.ticket_reply(ticket=ticket, body="One more thing.", actor=staff)
    ticket.refresh_from_db()
    assert ticket.status == "waiting-on-customer" and ticket.first_response_met is True
    first = ticket.first_responded_at
    assert len(_sent("support-ticket-reply")) == 2
    assert all("VIP" not in m.body for m in mail.outbox)
    page = customer_client.get(f"/support/tickets/{ticket.pk}").content.decode()
    assert "Fixed it for you." in page and "VIP" not in page
    # A customer reply opens it again; the first response time stays.
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/support/tickets/{ticket.pk}", {"body": "Still broken."})
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.first_responded_at == first
    assert len(_sent("support-ticket-customer-message")) == 1


def test_it_refuses_replies_to_a_closed_ticket(customer_account, customer, staff):
    ticket = _open(customer_account, customer)
    services.ticket_update(ticket=ticket, status="closed", actor=staff)
    with pytest.raises(ValidationError):
        services.ticket_customer_reply(ticket=ticket, user=customer, body="hello?", actor=customer)


def test_it_triages_with_an_audit_entry_per_change(customer_account, customer, staff, other_customer):
    ticket = _open(customer_account, customer)
    changed = services.ticket_update(ticket=ticket, status="resolved", priority="high", assignee=staff, actor=staff)
    assert sorted(changed) == ["assignee", "priority", "status"]
    assert services.ticket_update(ticket=ticket, priority="high", assignee=staff, actor=staff) == []
    assert AuditEvent.objects.filter(action="support.ticket.updated", target_id=str(ticket.pk)).count() == 1
    with pytest.raises(ValidationError):
        services.ticket_update(ticket=ticket, assignee=other_customer, actor=staff)
    with pytest.raises(ValidationError):
        services.ticket_update(ticket=ticket, status="pending", actor=staff)


def test_it_merges_a_duplicate_into_the_older_ticket(customer_account, customer, staff, other_customer):
    older = _open(customer_account, customer, subject="Stuck", now=timezone.now() - timedelta(hours=1))
    duplicate = _open(customer_account, customer, subject="Stuck again", body="Same here.")
    assert services.ticket_merge(ticket=duplicate, into=older, actor=staff) == 1
    assert services.ticket_merge(ticket=duplicate, into=older, actor=staff) == 0
    duplicate.refresh_from_db()
    assert duplicate.status == "closed" and duplicate.merged_into == older
    assert list(older.messages.filter(kind="customer").values_list("body", flat=True)) == [
        "My workflow run is stuck.",
        "Same here.",
    ]
    foreign = _open(other_customer.account, other_customer)
    with pytest.raises(ValidationError):
        services.ticket_merge(ticket=foreign, into=older, actor=staff)


def test_it_counts_tickets_near_breach_and_breached(customer_account, customer, staff):
    Account.objects.filter(pk=customer_account.pk).update(plan="business")  # 4 h
    customer_account.refresh_from_db()
    now = timezone.now()
    _open(customer_account, customer, subject="near", now=now - timedelta(hours=3, minutes=30))
    late = _open(customer_account, customer, subject="late", now=now - timedelta(hours=5))
    _open(customer_account, customer, subject="fresh", now=now)
    counts = {q.label: q.count for q in attention.queue_counts()}
    assert counts["Tickets: first response due within 1 hour"] == 1
    assert counts["Tickets: first response breached"] == 1
    assert backlogs.backlog_counts()["tickets_near_breach"] == 1
    services.ticket_reply(ticket=late, body="Sorry for the wait.", actor=staff)
    assert selectors.tickets_breached_count() == 0


def test_it_reports_first_response_per_plan_for_a_month(customer_account, customer, staff, other_customer):
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    in_time = _open(customer_account, customer, now=start)  # growth, 24 h
    late = _open(customer_account, customer, now=start + timedelta(days=1))
    services.ticket_reply(ticket=in_time, body="a", actor=staff, now=start + timedelta(hours=2))
    services.ticket_reply(ticket=late, body="b", actor=staff, now=start + timedelta(days=1, hours=30))
    _open(other_customer.account, other_customer, now=start)  # starter, never answered: overdue by "now"
    _open(customer_account, customer, now=datetime(2026, 6, 1, tzinfo=UTC))  # another month
    rows = {row.plan: row for row in selectors.ticket_sla_report(month=date(2026, 5, 1), now=start + timedelta(days=5))}
    assert rows["growth"].tickets == 2 and rows["growth"].within_percent == 50.0
    assert rows["growth"].median_first_response == timedelta(hours=16)
    assert rows["starter"].tickets == 1 and rows["starter"].within_percent == 0.0
    assert rows["pro"].tickets == 0 and rows["pro"].within_percent is None


# --- API -------------------------------------------------------------------------------


@pytest.fixture
def live(client, customer_account):
    return ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.LIVE).secret)


def test_it_opens_and_lists_tickets_through_the_api(live, customer):
    response = live.post("/api/support/tickets", {"subject": "API help", "body": "Quota?"})
    assert response.status_code == 201, response.content
    data = response.json()
    ticket = Ticket.objects.get()
    assert data["first_response_due_at"] == ticket.first_response_due_at.isoformat().replace("+00:00", "Z")
    assert data["status"] == "open" and data["sla_hours"] == 24 and ticket.opened_via == "api"
    assert [m["body"] for m in data["messages"]] == ["Quota?"]
    listed = live.get("/api/support/tickets").json()
    assert [t["id"] for t in listed["results"]] == [ticket.pk]
    reply = live.post(f"/api/support/tickets/{ticket.pk}", {"body": "Any news?"})
    assert reply.status_code == 201 and len(reply.json()["messages"]) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x", "body": "y", "priority": "urgent"}, "priority"),
        ({"subject": "", "body": "y"}, "subject"),
        ({"subject": "x" * 201, "body": "y"}, "subject"),
        ({"subject": "x"}, "body"),
    ],
)
def test_it_refuses_bad_ticket_input(live, body, field):
    response = live.post("/api/support/tickets", body)
    assert response.status_code == 400 and field in response.content.decode()
    assert Ticket.objects.count() == 0


def test_it_hides_another_accounts_ticket_in_the_api(live, other_customer):
    theirs = _open(other_customer.account, other_customer)
    assert live.get(f"/api/support/tickets/{theirs.pk}").status_code == 404
    assert live.post(f"/api/support/tickets/{theirs.pk}", {"body": "hi"}).status_code == 404
    assert live.get("/api/support/tickets").json()["results"] == []


def test_it_refuses_ticket_writes_with_a_sandbox_key(client, customer_account):
    sandbox = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.TEST).secret)
    assert sandbox.post("/api/support/tickets", {"subject": "x", "body": "y"}).status_code == 403


# --- Admin -----------------------------------------------------------------------------


def test_it_works_a_ticket_from_the_admin(
    staff_client, staff, customer_account, customer, django_capture_on_commit_callbacks
):
    ticket = _open(customer_account, customer)
    canned = CannedReply.objects.create(title="Thanks", body="Thanks for your patience.")
    assert staff_client.get(reverse("admin:support_ticket_changelist")).status_code == 200
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    page = staff_client.get(url).content.decode()
    assert "left" in page and "My workflow run is stuck." in page
    form = {
        "status": "open",
        "priority": "urgent",
        "assignee": staff.pk,
        "canned": canned.pk,
        "reply": "Looking now.",
        "internal_note": "Check run 42",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and ticket.assignee == staff and ticket.status == "waiting-on-customer"
    reply = ticket.messages.get(kind=TicketMessage.Kind.REPLY)
    assert reply.body == "Looking now.\n\nThanks for your patience."
    assert ticket.messages.filter(kind="internal", body="Check run 42").exists()
    assert len(_sent("support-ticket-reply")) == 1
    report = staff_client.get(reverse("admin:support_ticket_report"), {"month": "2026-05"})
    assert report.status_code == 200 and "Business" in report.content.decode()
    assert staff_client.get(reverse("admin:support_ticket_report"), {"month": "nope"}).status_code == 400
    assert staff_client.get(reverse("admin:support_cannedreply_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:support_ticket_changelist"), {"sla": "breached"}).status_code == 200


def test_it_merges_selected_duplicates_from_the_changelist(staff_client, customer_account, customer):
    first = _open(customer_account, customer, now=timezone.now() - timedelta(minutes=5))
    second = _open(customer_account, customer)
    response = staff_client.post(
        reverse("admin:support_ticket_changelist"),
        {"action": "merge_into_oldest", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.merged_into_id == first.pk


def test_it_exports_and_erases_what_the_person_wrote_in_tickets(customer_account, customer, staff):
    from support.privacy import ERASED, erase_user, support_rows

    ticket = _open(customer_account, customer, subject="My secret project")
    services.ticket_note(ticket=ticket, body="internal only", actor=staff)
    [row] = [r for r in support_rows(user=customer) if r["kind"] == "ticket"]
    assert row["subject"] == "My secret project" and [m["body"] for m in row["messages"]] == [
        "My workflow run is stuck."
    ]
    assert erase_user(user=customer, actor=None)["support_tickets"] == 1
    ticket.refresh_from_db()
    assert ticket.user is None and ticket.subject == ERASED
    assert ticket.messages.get(kind="customer").body == ERASED
    assert ticket.messages.get(kind="internal").body == "internal only"


def test_it_shows_the_same_first_response_clock_on_disputes_and_sla_requests(
    staff_client, staff, customer_account, customer
):
    from support.clock import clock_text, first_response_due

    now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    due = first_response_due(plan="growth", opened_at=now)
    assert due == now + timedelta(hours=24)
    assert clock_text(due=due, answered_at=None, now=now + timedelta(hours=21, minutes=30)) == "2 h 30 min left"
    assert clock_text(due=due, answered_at=None, now=now + timedelta(hours=25)) == "breached 1 h 0 min ago"
    assert clock_text(due=due, answered_at=now + timedelta(hours=3), now=now) == "answered in time"

    dispute = services.dispute_open(
        account=customer_account, user=customer, category="other", subject="Clock", description="d", actor=None
    )
    page = staff_client.get(reverse("admin:support_dispute_change", args=[dispute.pk])).content.decode()
    assert "23 h 59 min left" in page or "24 h 0 min left" in page
    services.dispute_update(dispute=dispute, reply="On it.", actor=staff)
    listing = staff_client.get(reverse("admin:support_dispute_changelist")).content.decode()
    assert "answered in time" in listing
