"""The support API: customers (API key) and staff (a signed-in staff session only, never a key)."""

from datetime import UTC

import pytest
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEvent, OutboundEmail
from levqor.accounts.models import Account, User
from levqor.api.models import ApiKey
from levqor.api.services import api_key_create, api_key_rotate
from levqor.api.testing import ApiCaller, issue_key
from support import rules, services
from support.models import Dispute, SlaCreditRequest

pytestmark = pytest.mark.django_db


def last_month() -> str:
    return rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1).strftime("%Y-%m")


@pytest.fixture
def live(client, customer_account):
    return ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.LIVE).secret)


@pytest.fixture
def other_live(client, other_customer):
    return ApiCaller(client, issue_key(other_customer.account, mode=ApiKey.Mode.LIVE).secret)


def body(**changes) -> dict:
    return {"period_kind": "month", "month": last_month(), "impact": "critical", "description": "Down.", **changes}


def test_it_files_and_lists_sla_credit_requests(live, customer):
    response = live.post("/api/sla-credits/request", body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "pending" and data["plan"] == "growth" and data["period_kind"] == "month"
    assert data["measured_uptime_percent"] == "100.0000" and data["credit"] is None
    assert "internal_notes" not in data
    request = SlaCreditRequest.objects.get()
    assert request.filed_via == "api" and request.user == customer
    listed = live.get("/api/sla-credits/my-requests").json()
    assert [r["id"] for r in listed["results"]] == [request.pk]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"month": "2099-01"}, "period"),
        ({"month": "2019-01"}, "period"),
        ({"month": "2026-13"}, "month"),
        ({"period_kind": "day", "month": None}, "incident_date"),
        ({"impact": "huge"}, "impact"),
        ({"description": ""}, "description"),
    ],
)
def test_it_refuses_bad_requests_with_field_errors_and_no_row(live, changes, field):
    payload = {k: v for k, v in body(**changes).items() if v is not None}
    response = live.post("/api/sla-credits/request", payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"]
    assert not SlaCreditRequest.objects.exists()


def test_it_files_disputes_and_lists_only_the_accounts_own(live, other_live, customer):
    created = live.post(
        "/api/disputes", {"category": "security", "subject": "Odd login", "description": "From abroad."}
    )
    assert created.status_code == 201 and created.json()["status"] == "open"
    bad = live.post("/api/disputes", {"category": "wrong", "subject": "", "description": "x"})
    assert bad.status_code == 400 and {"category", "subject"} <= set(bad.json()["error"]["details"]["fields"])
    assert Dispute.objects.count() == 1
    assert [d["subject"] for d in live.get("/api/disputes/my").json()["results"]] == ["Odd login"]
    assert other_live.get("/api/disputes/my").json()["results"] == []


def test_it_lists_sla_credit_requests_only_to_the_account_that_filed_them(live, other_live):
    filed = live.post("/api/sla-credits/request", body())
    assert filed.status_code == 201, filed.content
    assert [r["id"] for r in live.get("/api/sla-credits/my-requests").json()["results"]] == [filed.json()["id"]]
    assert other_live.get("/api/sla-credits/my-requests").json()["results"] == []


def test_it_keeps_sandbox_keys_away_from_real_records(client, customer_account, customer):
    services.dispute_open(
        account=customer_account, user=customer, category="other", subject="S", description="D", actor=None
    )
    sandbox = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.TEST).secret)
    assert sandbox.post("/api/sla-credits/request", body()).status_code == 403
    assert sandbox.post("/api/disputes", {"category": "other", "subject": "s", "description": "d"}).status_code == 403
    assert sandbox.get("/api/disputes/my").json()["results"] == []
    assert not SlaCreditRequest.objects.exists() and Dispute.objects.count() == 1


def test_it_lets_a_paused_account_dispute(live, customer_account):
    Account.objects.filter(pk=customer_account.pk).update(billing_state="paused_billing")
    response = live.post("/api/disputes", {"category": "billing", "subject": "Wrong bill", "description": "Why?"})
    assert response.status_code == 201


def test_it_needs_a_key(client):
    for method, path in (("get", "/api/sla-credits/my-requests"), ("get", "/api/disputes/my")):
        assert getattr(client, method)(path).status_code == 401


# --- Staff ---------------------------------------------------------------------------------


def _file(customer):
    period = rules.month_period(rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1))
    return services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=period,
        impact="major",
        description="x",
        actor=customer,
    )


def test_it_lets_staff_list_and_decide_with_their_session(
    staff_client, customer, stripe_customer, fake_stripe, django_capture_on_commit_callbacks
):
    request = _file(customer)
    listed = staff_client.get("/api/admin/sla-credits", {"status": "needs-attention"})
    assert listed.status_code == 200
    row = listed.json()["results"][0]
    assert row["id"] == request.pk and row["account_name"] == "Acme Ltd" and "measurement" in row
    assert staff_client.get("/api/admin/sla-credits", {"status": "approved"}).json()["results"] == []
    assert staff_client.get("/api/admin/sla-credits", {"status": "bogus"}).status_code == 400
    url = f"/api/admin/sla-credits/{request.pk}/decision"
    decision = {"status": "approved", "credit_amount_minor": 290, "notes_to_customer": "Credited."}
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(url, decision, content_type="application/json")
        assert response.status_code == 200, response.content
    assert response.json()["stripe_credit_id"].startswith("cbtxn_")
    assert len(fake_stripe.credits_posted()) == 1
    assert OutboundEmail.objects.filter(kind="support.sla-credit-decision").count() == 1
    over = staff_client.post(
        f"/api/admin/sla-credits/{request.pk}/decision", {"status": "rejected"}, content_type="application/json"
    )
    assert over.status_code == 400 and "credit is fixed" in str(over.json())
    assert (
        staff_client.post(
            "/api/admin/sla-credits/999999/decision", decision, content_type="application/json"
        ).status_code
        == 404
    )


def _staff_made_key(account, staff):
    """A key staff created for the customer's account in the admin, then rotated there:
    the customer holds it, and its creator is an active staff member."""
    made = api_key_create(account=account, name="Made by support", mode="live", actor=staff)
    rotated = api_key_rotate(key=made.key, overlap_hours=0, actor=staff)
    assert rotated.key.created_by == staff and staff.is_active and staff.is_staff
    return rotated


def test_it_refuses_a_staff_made_key_on_a_customer_account_and_changes_nothing(
    client, staff, customer, customer_account
):
    request = _file(customer)
    before = AuditEvent.objects.count()
    holder = ApiCaller(client, _staff_made_key(customer_account, staff).secret)
    assert holder.get("/api/sla-credits/my-requests").status_code == 200  # a working customer key
    listed = holder.get("/api/admin/sla-credits")
    assert listed.status_code == 403
    assert listed.json()["error"]["code"] == "permission_denied" and "correlation_id" in listed.json()["error"]
    assert set(listed.json()) == {"error"}  # no queue rows
    for decision in ({"status": "approved", "credit_amount_minor": 290}, {"status": "rejected"}):
        response = holder.post(f"/api/admin/sla-credits/{request.pk}/decision", decision)
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    request.refresh_from_db()
    assert request.status == "pending" and request.decided_by is None and request.credit_amount_minor == 0
    assert not AuditEvent.objects.filter(action="support.sla_credit.decided").exists()
    assert AuditEvent.objects.count() == before + 2  # the key's creation and rotation, nothing else


def test_it_refuses_any_key_even_alongside_a_staff_session(staff_client, staff, customer, customer_account):
    request = _file(customer)
    staff_api = ApiCaller(staff_client, _staff_made_key(customer_account, staff).secret)
    assert staff_api.get("/api/admin/sla-credits").status_code == 403
    bearer = {"Authorization": f"Bearer {issue_key(customer_account, mode=ApiKey.Mode.LIVE).secret}"}
    assert staff_client.get("/api/admin/sla-credits", headers=bearer).status_code == 403
    response = staff_api.post(f"/api/admin/sla-credits/{request.pk}/decision", {"status": "rejected"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "pending"
    assert staff_client.get("/api/admin/sla-credits").status_code == 200  # the session alone still works


def test_it_refuses_customers_anonymous_callers_and_inactive_staff(client, staff, customer, customer_account):
    request = _file(customer)
    customer_api = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.LIVE).secret)
    assert customer_api.get("/api/admin/sla-credits").status_code == 403
    assert customer_api.post(f"/api/admin/sla-credits/{request.pk}/decision", {"status": "approved"}).status_code == 403
    anonymous = client.get("/api/admin/sla-credits")
    assert anonymous.status_code == 403 and anonymous.json()["error"]["code"] == "permission_denied"
    client.force_login(customer)
    assert client.get("/api/admin/sla-credits").status_code == 403
    client.force_login(staff)
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert client.get("/api/admin/sla-credits").status_code == 403
    request.refresh_from_db()
    assert request.status == "pending"


def test_it_enforces_csrf_on_staff_decisions(staff, customer):
    request = _file(customer)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    assert browser.get("/api/admin/sla-credits").status_code == 200  # reads need no token
    url = f"/api/admin/sla-credits/{request.pk}/decision"
    refused = browser.post(url, {"status": "rejected"}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    request.refresh_from_db()
    assert request.status == "pending"
    browser.get("/admin/")  # sets the csrftoken cookie, as the admin page would
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(url, {"status": "rejected"}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200 and accepted.json()["status"] == "rejected"


def test_it_decides_a_request_in_gbp_only(staff_client, customer, stripe_customer, fake_stripe):
    request = _file(customer)
    url = f"/api/admin/sla-credits/{request.pk}/decision"
    for currency in ("EUR", "USD", "gbp"):
        response = staff_client.post(
            url,
            {"status": "approved", "credit_amount_minor": 290, "credit_currency": currency},
            content_type="application/json",
        )
        assert response.status_code == 400, currency
        error = response.json()["error"]
        assert error["code"] == "validation_error" and "GBP only" in str(error["details"]["fields"]["credit_currency"])
    request.refresh_from_db()
    assert request.status == "pending" and request.credit_amount_minor == 0 and request.credit_currency == "GBP"
    assert not AuditEvent.objects.filter(action="support.sla_credit.decided").exists()
    assert fake_stripe.credits_posted() == []


def test_the_schema_documents_staff_endpoints_as_session_only():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/admin/sla-credits", "/api/admin/sla-credits/{request_id}/decision"):
        for operation in schema["paths"][path].values():
            assert operation["security"] == [{"StaffSessionAuth": []}], path
            assert "401" not in operation["responses"] and "403" in operation["responses"], path
            assert "API key" in operation["responses"]["403"]["description"], path
    assert schema["components"]["securitySchemes"]["StaffSessionAuth"]["in"] == "cookie"
    decision = schema["components"]["schemas"]["SlaDecisionRequest"]["properties"]["credit_currency"]
    assert schema["components"]["schemas"][decision["allOf"][0]["$ref"].split("/")[-1]]["enum"] == ["GBP"]
