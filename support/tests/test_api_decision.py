"""The staff decision API takes its documented names (status, credit_amount in
pounds, currency, notes) and its older documented aliases; every field sent
is used or refused, never dropped."""

from datetime import UTC

import pytest
from django.utils import timezone

from compliance.models import AuditEvent
from support import rules, services
from support.models import SlaCreditRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(customer):
    return services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=rules.month_period(rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1)),
        impact="major",
        description="Down for an afternoon.",
        actor=customer,
    )


def _decide(staff_client, request, body):
    return staff_client.post(f"/api/admin/sla-credits/{request.pk}/decision", body, content_type="application/json")


def test_it_approves_with_the_spec_names(staff_client, pending, stripe_customer, fake_stripe):
    body = {"status": "approved", "credit_amount": 14.90, "notes": "Sorry for the outage on the 3rd."}
    response = _decide(staff_client, pending, body)
    assert response.status_code == 200, response.content
    pending.refresh_from_db()
    assert pending.status == "approved" and pending.credit_amount_minor == 1490 and pending.credit_currency == "GBP"
    assert pending.notes_to_customer == "Sorry for the outage on the 3rd."
    data = response.json()
    assert data["credit_amount_minor"] == 1490 and data["notes_to_customer"] == "Sorry for the outage on the 3rd."


def test_it_takes_the_amount_as_a_string_and_currency_gbp(staff_client, pending, stripe_customer, fake_stripe):
    body = {"status": "approved", "credit_amount": "7.25", "currency": "GBP", "internal_notes": "Checked."}
    assert _decide(staff_client, pending, body).status_code == 200
    pending.refresh_from_db()
    assert pending.credit_amount_minor == 725 and pending.internal_notes == "Checked."


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"status": "approved", "credit_amount": 14.9, "currency": "EUR"}, "currency", "GBP only"),
        ({"status": "approved", "credit_amount": "1.234"}, "credit_amount", "decimal places"),
        ({"status": "approved", "credit_amount": -1}, "credit_amount", "greater than or equal to 0"),
        ({"status": "approved", "credit_amount": 99.0}, "credit_amount", "capped at one month's fee"),
        ({"status": "rejected", "credit_amount": 5}, "credit_amount", "only with status approved"),
        (
            {"status": "approved", "credit_amount": 5, "credit_amount_minor": 500},
            "credit_amount_minor",
            "send one or the other",
        ),
        ({"status": "rejected", "notes": "a", "notes_to_customer": "b"}, "notes_to_customer", "not both"),
        ({"status": "approve"}, "status", "is not a valid choice"),
    ],
)
def test_it_refuses_a_bad_decision_naming_the_field_sent(
    staff_client, pending, stripe_customer, fake_stripe, body, field, message
):
    response = _decide(staff_client, pending, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and message in " ".join(error["details"]["fields"][field])
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.credit_amount_minor == 0
    assert not AuditEvent.objects.filter(action="support.sla_credit.decided").exists()


def test_it_refuses_a_misspelt_field_instead_of_dropping_it(staff_client, pending):
    response = _decide(staff_client, pending, {"status": "rejected", "note": "Typo."})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"
    assert response.json()["error"]["details"]["unknown"] == ["note"]
    pending.refresh_from_db()
    assert pending.status == SlaCreditRequest.Status.PENDING


def test_it_documents_the_spec_names(client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["components"]["schemas"]["SlaDecisionRequest"]
    assert {"status", "credit_amount", "currency", "notes", "internal_notes"} <= set(body["properties"])
    assert body["required"] == ["status"] and body["additionalProperties"] is False
    assert "14.90" in body["properties"]["credit_amount"]["description"]
