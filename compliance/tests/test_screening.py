import json

import pytest
from django.core import mail
from django.test import Client

from compliance import screening
from compliance.models import AuditEvent, ScreeningAppeal, ScreeningBlock, ScreeningRule

from .conftest import CRITICAL_PAYLOAD

pytestmark = pytest.mark.django_db

RULES = screening.DEFAULT_RULES


@pytest.mark.parametrize(
    ("payload", "rule", "category"),
    [
        ("Send the patient's Diagnosis to the GP", "medical-diagnosis", "medical"),
        ({"note": "NHS number 943 476 5919"}, "medical-nhs-number", "medical"),
        ({"steps": [{"text": "check criminal record"}]}, "legal-criminal-record", "legal"),
        ({"card": "4111 1111 1111 1111"}, "financial-card-number", "financial"),
        ({"fields": {"CVV": "123"}}, "financial-card-security-code", "financial"),
    ],
)
def test_it_finds_critical_high_risk_data(payload, rule, category):
    findings = screening.screening_check(payload, rules=RULES)
    assert findings[0].severity == "critical"
    assert rule in {f.rule for f in findings}
    assert {f.category for f in findings if f.rule == rule} == {category}


def test_it_reports_lower_severities_most_severe_first_with_paths():
    findings = screening.screening_check(
        {"a": "our contract terms", "b": ["ask about their salary", "the patient is waiting"]}, rules=RULES
    )
    assert [(f.severity, f.path) for f in findings] == [("medium", "$.b[1]"), ("low", "$.a"), ("low", "$.b[0]")]
    assert screening.reason_for(findings) == ""


def test_it_finds_nothing_in_ordinary_business_data():
    payload = {"name": "Invoice reminder", "steps": [{"send": "Your invoice 10023 is due on 2026-12-01"}], "n": 17}
    assert screening.screening_check(payload, rules=RULES) == []
    # Keywords match whole words only.
    assert screening.screening_check("diagnostics dashboard; hivemind", rules=RULES) == []


def test_a_bad_rule_is_skipped_not_fatal():
    broken = screening.Rule("broken", "medical", "pattern", "([unclosed", "critical", "x")
    assert screening.screening_check("anything", rules=[broken]) == []


def test_it_refuses_a_critical_payload_with_a_reason(customer):
    result = screening.screen_payload(account=customer.account, kind="run_payload", payload=CRITICAL_PAYLOAD)
    assert result.blocked
    assert "high-risk medical data" in result.reason
    assert "$.steps[0].prompt" in result.reason
    assert result.findings[0].severity == "critical"


def test_it_allows_and_reports_a_non_critical_payload(customer):
    result = screening.screen_payload(account=customer.account, kind="run_payload", payload={"x": "a contract"})
    assert not result.blocked and result.reason == "" and result.highest_severity == "low"


def test_rules_are_data_staff_can_switch_off(customer):
    ScreeningRule.objects.filter(category="medical").update(is_active=False)
    assert not screening.screen_payload(account=customer.account, kind="run", payload=CRITICAL_PAYLOAD).blocked


def test_screening_never_raises(customer):
    ScreeningRule.objects.create(
        name="bad", category="legal", kind="pattern", pattern="(", severity="critical", description="x"
    )
    result = screening.screen_payload(account=customer.account, kind="run", payload={1, 2})  # not JSON
    assert result.blocked is False


def test_a_block_is_stored_without_the_payload_and_audited(block):
    stored = json.dumps([block.reason, block.findings])
    assert "Summarise" not in stored and "Clinic intake" not in stored
    assert block.fingerprint == screening.fingerprint(CRITICAL_PAYLOAD)
    assert AuditEvent.objects.filter(action="screening.blocked", target_id=str(block.pk)).exists()
    assert screening.appeal_url(block) == f"http://testserver/high-risk-data/appeal/{block.pk}"


def test_ensure_default_rules_is_idempotent_and_keeps_staff_edits(db):
    ScreeningRule.objects.all().delete()
    assert screening.ensure_default_rules() == len(screening.DEFAULT_RULES)
    ScreeningRule.objects.filter(name="legal-contract").update(severity="medium", is_active=False)
    assert screening.ensure_default_rules() == 0
    rule = ScreeningRule.objects.get(name="legal-contract")
    assert (rule.severity, rule.is_active) == ("medium", False)


def test_the_customer_appeals_and_staff_approve_in_admin(
    customer, block, staff_client, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(customer)
    page = client.get(f"/high-risk-data/appeal/{block.pk}")
    assert page.status_code == 200
    assert "$.steps[0].prompt" in page.content.decode()

    response = client.post(
        f"/high-risk-data/appeal/{block.pk}", {"explanation": "These are synthetic training records, no patients."}
    )
    assert response.status_code == 302
    appeal = ScreeningAppeal.objects.get()
    block.refresh_from_db()
    assert block.status == "appealed" and appeal.status == "pending"

    queue = staff_client.get("/admin/compliance/screeningappeal/")
    assert "Acme Ltd" in queue.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post("/admin/compliance/screeningappeal/", {"action": "approve", "_selected_action": [appeal.pk]})
    appeal.refresh_from_db()
    block.refresh_from_db()
    assert appeal.status == "approved" and block.status == "allowed"
    assert mail.outbox[-1].to == [customer.email] and "It is allowed" in mail.outbox[-1].body

    # The same payload now goes through for this account, and only this one.
    again = screening.screen_payload(account=customer.account, kind="run", payload=CRITICAL_PAYLOAD)
    assert not again.blocked and again.allowed_on_appeal


def test_a_rejected_appeal_keeps_the_block(customer, block, staff):
    appeal = screening.appeal_submit(block=block, user=customer, explanation="Please allow, it is fine really.")
    assert screening.appeal_decide(appeal=appeal, approve=False, actor=staff)
    assert not screening.appeal_decide(appeal=appeal, approve=True, actor=staff)  # decided once
    block.refresh_from_db()
    assert block.status == "upheld"
    assert screening.screen_payload(account=customer.account, kind="run", payload=CRITICAL_PAYLOAD).blocked


def test_another_customer_cannot_see_or_appeal_a_block(client, other_customer, block):
    client.force_login(other_customer)
    assert client.get(f"/high-risk-data/appeal/{block.pk}").status_code == 404
    assert client.post(f"/high-risk-data/appeal/{block.pk}", {"explanation": "x" * 40}).status_code == 404
    assert not ScreeningAppeal.objects.exists()


def test_an_empty_or_thin_appeal_is_refused_without_writing(client, customer, block):
    client.force_login(customer)
    for text in ("", "too short"):
        response = client.post(f"/high-risk-data/appeal/{block.pk}", {"explanation": text})
        assert response.status_code == 400
    assert not ScreeningAppeal.objects.exists()
    assert ScreeningBlock.objects.get().status == "blocked"


def test_appealing_twice_keeps_the_first_appeal(customer, block):
    assert screening.appeal_submit(block=block, user=customer, explanation="First explanation, detailed.")
    assert screening.appeal_submit(block=block, user=customer, explanation="Second explanation, detailed.") is None
    assert ScreeningAppeal.objects.get().explanation == "First explanation, detailed."


def test_the_policy_page_lists_the_active_rules(client):
    page = client.get("/high-risk-data")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<h1>High-risk data policy</h1>" in body
    assert "NHS numbers identify patients." in body


def test_appeals_wait_on_the_admin_index(staff_client, customer, block):
    screening.appeal_submit(block=block, user=customer, explanation="Synthetic data, please review it.")
    page = staff_client.get("/admin/").content.decode()
    assert "High-risk data appeals awaiting review" in page


def test_screen_and_record_keeps_the_block_and_describes_the_refusal(customer):
    result, block = screening.screen_and_record(
        account=customer.account, kind="workflow_definition", payload=CRITICAL_PAYLOAD, actor=customer
    )
    assert result.blocked and block is not None
    details = screening.refusal_details(result, block)
    assert details["appeal_url"].endswith(f"/high-risk-data/appeal/{block.pk}")
    assert details["policy_url"] == "http://testserver/high-risk-data"
    assert details["findings"][0]["path"] == "$.steps[0].prompt" and "reason" in details
    ok, none = screening.screen_and_record(account=customer.account, kind="run", payload={"a": 1}, actor=None)
    assert not ok.blocked and none is None


def test_it_refuses_what_it_cannot_screen_completely_instead_of_passing_it(customer):
    card = {"card": "4111 1111 1111 1111"}
    padded = {"a": "x" * screening.MAX_SCAN_CHARS, **card}
    deep: dict = card
    for _ in range(screening.MAX_DEPTH + 5):
        deep = {"n": deep}

    for payload in (padded, deep):
        result = screening.screen_payload(account=customer.account, kind="run_payload", payload=payload)
        assert result.blocked
        assert "more than we can screen" in result.reason

    ordinary = screening.screen_payload(account=customer.account, kind="run_payload", payload={"a": "x" * 1000})
    assert not ordinary.blocked
