"""The support API: customers (API key) and staff (staff session or a staff-made key)."""

from datetime import UTC

import pytest
from django.utils import timezone

from levqor.accounts.models import Account
from levqor.api.models import ApiKey
from levqor.api.services import api_key_create
from levqor.api.testing import ApiCaller, issue_key
from support import rules, services
from support.models import Dispute, SlaCreditRequest, SupportEmail

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
    assert SupportEmail.objects.filter(template="support-sla-credit-decision").count() == 1
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


def test_it_accepts_a_key_made_by_staff_and_refuses_customers(client, staff, customer, customer_account):
    request = _file(customer)
    staff_key = api_key_create(account=customer_account, name="Support desk", mode="live", actor=staff)
    ApiKey.objects.filter(pk=staff_key.key.pk).update(created_by=staff)
    staff_api = ApiCaller(client, staff_key.secret)
    assert staff_api.get("/api/admin/sla-credits").status_code == 200
    response = staff_api.post(f"/api/admin/sla-credits/{request.pk}/decision", {"status": "rejected"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    customer_api = ApiCaller(client, issue_key(customer_account, mode=ApiKey.Mode.LIVE).secret)
    assert customer_api.get("/api/admin/sla-credits").status_code == 403
    assert customer_api.post(f"/api/admin/sla-credits/{request.pk}/decision", {"status": "approved"}).status_code == 403
    client.force_login(customer)
    assert client.get("/api/admin/sla-credits").status_code == 403
