"""Chargeback evidence from the admin: saved, then submitted to Stripe (the
loopback fake answering with Stripe's own dispute shape) before due_by."""

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from compliance.models import AuditEvent
from support import services
from support.models import Dispute

from .conftest import dispute_object, event

pytestmark = pytest.mark.django_db

DISPUTE = "dp_evidence_0001"
CHARGE = "ch_evidence_0001"


@pytest.fixture
def chargeback(fake_stripe, stripe_customer, deliver):
    fake_stripe.add_charge(CHARGE, stripe_customer)
    obj = dispute_object(
        dispute_id=DISPUTE, charge_id=CHARGE, status="needs_response", due_by=int(time.time()) + 3 * 86400
    )
    fake_stripe.set_dispute(obj)
    deliver(event("charge.dispute.created", obj, created=int(time.time()) - 60))
    return Dispute.objects.get(stripe_dispute_id=DISPUTE)


def test_it_submits_the_evidence_once_from_the_admin(staff_client, chargeback, fake_stripe):
    url = reverse("admin:support_dispute_change", args=[chargeback.pk])
    page = staff_client.get(url).content.decode()
    assert "Evidence for the bank (Stripe)" in page
    form = {
        "status": "in-review",
        "resolution_notes": "",
        "reply": "",
        "internal_note": "",
        "evidence_product_description": "Growth plan, monthly",
        "evidence_customer_communication": "Customer confirmed the renewal by email on 2 May.",
        "evidence_access_activity_log": "Signed in 14 times in May.",
        "submit_evidence": "on",
    }
    assert staff_client.post(url, form).status_code == 302
    chargeback.refresh_from_db()
    assert chargeback.stripe_status == "under_review" and chargeback.evidence_submission_count == 1
    assert chargeback.evidence_submitted_at is not None
    sent = fake_stripe.disputes[DISPUTE]["evidence"]
    assert sent["product_description"] == "Growth plan, monthly"
    assert "renewal by email" in sent["uncategorized_text"] and sent.get("customer_communication") is None
    assert [p for m, p in fake_stripe.requests if m == "POST" and p.startswith("/v1/disputes/")] == [
        f"/v1/disputes/{DISPUTE}"
    ]
    # Stripe no longer awaits a response: a second submission is refused without calling it.
    with pytest.raises(ValidationError, match="not awaiting"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=None)
    actions = set(AuditEvent.objects.filter(target_id=str(chargeback.pk)).values_list("action", flat=True))
    assert {"support.chargeback.evidence_saved", "support.chargeback.evidence_submitted"} <= actions


def test_it_refuses_evidence_after_the_due_date_or_when_empty(chargeback, staff, fake_stripe):
    with pytest.raises(ValidationError, match="Fill in"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=staff)
    services.chargeback_evidence_save(dispute=chargeback, evidence={"uncategorized_text": "x"}, actor=staff)
    late = chargeback.evidence_due_by + timedelta(seconds=1)
    with pytest.raises(ValidationError, match="due date has passed"):
        services.chargeback_evidence_submit(dispute=chargeback, actor=staff, now=late)
    with pytest.raises(ValidationError, match="Unknown evidence"):
        services.chargeback_evidence_save(dispute=chargeback, evidence={"colour": "red"}, actor=staff)
    assert not [p for m, p in fake_stripe.requests if m == "POST" and p.startswith("/v1/disputes/")]
    assert timezone.now() < chargeback.evidence_due_by
