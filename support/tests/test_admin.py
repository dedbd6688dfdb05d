"""The support queues in the admin: smoke tests, default filters, the
decision form (saved twice → one credit), dispute replies, the index counts."""

from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from compliance.outbox.selectors import emails_about
from support import rules, services
from support.models import Dispute, SlaCreditRequest

pytestmark = pytest.mark.django_db


def _file(customer, months_ago=1):
    period = rules.month_period(rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -months_ago))
    return services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=period,
        impact="major",
        description="x",
        actor=customer,
    )


def test_it_renders_every_support_admin_page(staff_client, customer, customer_account):
    request = _file(customer)
    dispute = services.dispute_open(
        account=customer_account, user=customer, category="other", subject="Hm", description="d", actor=None
    )
    for name, obj in (("slacreditrequest", request), ("dispute", dispute)):
        assert staff_client.get(reverse(f"admin:support_{name}_changelist")).status_code == 200
        page = staff_client.get(reverse(f"admin:support_{name}_change", args=[obj.pk]))
        assert page.status_code == 200 and "Timeline" in page.content.decode()
    # Its emails are the outbox's: listed there and on the record's timeline.
    email = emails_about(request).get(kind="support.sla-credit-received")
    assert emails_about(request).filter(kind="support.sla-credit-receipt").exists()  # the customer's receipt
    assert email.kind == "support.sla-credit-received" and email.template == "support-sla-credit-received"
    assert staff_client.get(reverse("admin:compliance_outboundemail_change", args=[email.pk])).status_code == 200
    page = staff_client.get(reverse("admin:support_slacreditrequest_change", args=[request.pk])).content.decode()
    assert "support-sla-credit-received" in page


def test_it_defaults_the_queues_to_what_needs_attention(staff_client, customer, staff):
    pending = _file(customer, months_ago=1)
    done = _file(customer, months_ago=2)
    services.sla_request_decide(request=done, status="rejected", actor=staff)
    html = staff_client.get(reverse("admin:support_slacreditrequest_changelist")).content.decode()
    assert f"/{pending.pk}/change/" in html and f"/{done.pk}/change/" not in html
    everything = staff_client.get(reverse("admin:support_slacreditrequest_changelist"), {"status": "all"})
    assert f"/{done.pk}/change/" in everything.content.decode()
    searched = staff_client.get(reverse("admin:support_slacreditrequest_changelist"), {"status": "all", "q": "Acme"})
    assert searched.status_code == 200 and f"/{pending.pk}/change/" in searched.content.decode()


def test_it_shows_claimed_and_measured_side_by_side(staff_client, customer):
    request = _file(customer)
    html = staff_client.get(reverse("admin:support_slacreditrequest_change", args=[request.pk])).content.decode()
    assert "Claimed by the customer" in html and "Measured by us" in html
    assert "100.000%" in html and "suggested credit" in html.lower()


def test_it_applies_one_credit_when_staff_save_the_decision_twice(
    staff_client, customer, stripe_customer, fake_stripe, django_capture_on_commit_callbacks
):
    request = _file(customer)
    url = reverse("admin:support_slacreditrequest_change", args=[request.pk])
    form = {
        "status": "approved",
        "credit_amount": "2.90",
        "credit_currency": "GBP",
        "notes_to_customer": "Sorry for the outage.",
        "internal_notes": "Checked the web probe.",
    }
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(url, form)
        assert response.status_code == 302, response.content.decode()[:2000]
    request.refresh_from_db()
    assert request.status == "approved" and request.credit_amount_minor == 290 and request.stripe_credit_id
    assert len(fake_stripe.credits_posted()) == 1
    assert len([m for m in mail.outbox if "support-sla-credit-decision" in m.tags]) == 1
    refused = staff_client.post(url, {**form, "credit_amount": "99.00"})
    assert refused.status_code == 200 and "credit is fixed" in refused.content.decode()


def test_it_refuses_a_credit_above_the_cap_in_the_form(staff_client, customer, stripe_customer):
    request = _file(customer)
    url = reverse("admin:support_slacreditrequest_change", args=[request.pk])
    response = staff_client.post(url, {"status": "approved", "credit_amount": "30.00", "credit_currency": "GBP"})
    assert response.status_code == 200 and "capped at one month" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"


def test_it_offers_and_accepts_only_gbp_in_the_decision_form(staff_client, customer, stripe_customer, fake_stripe):
    request = _file(customer)
    url = reverse("admin:support_slacreditrequest_change", args=[request.pk])
    page = staff_client.get(url).content.decode()
    assert '<option value="GBP"' in page and 'value="EUR"' not in page and 'value="USD"' not in page
    for currency in ("EUR", "USD"):
        response = staff_client.post(url, {"status": "approved", "credit_amount": "2.90", "credit_currency": currency})
        assert response.status_code == 200 and "Credits are in GBP only" in response.content.decode(), currency
    request.refresh_from_db()
    assert request.status == "pending" and request.credit_amount_minor == 0 and request.decided_at is None
    assert fake_stripe.credits_posted() == []


def test_the_decision_service_refuses_other_currencies_and_writes_nothing(customer, staff, stripe_customer):
    from django.core.exceptions import ValidationError

    from compliance.models import AuditEvent

    request = _file(customer)
    with pytest.raises(ValidationError) as refused:
        services.sla_request_decide(
            request=request, status="approved", credit_amount_minor=290, credit_currency="eur", actor=staff
        )
    assert "GBP only" in str(refused.value.message_dict["credit_currency"])
    request.refresh_from_db()
    assert request.status == "pending" and request.credit_currency == "GBP" and request.credit_amount_minor == 0
    assert not AuditEvent.objects.filter(action="support.sla_credit.decided").exists()


def test_it_replies_and_notes_from_the_dispute_page(
    staff_client, customer, customer_account, django_capture_on_commit_callbacks
):
    dispute = services.dispute_open(
        account=customer_account, user=customer, category="billing", subject="Bill", description="d", actor=None
    )
    url = reverse("admin:support_dispute_change", args=[dispute.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            url, {"status": "in-review", "resolution_notes": "", "reply": "Looking now.", "internal_note": "VIP"}
        )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "in-review" and dispute.messages.count() == 2
    assert len([m for m in mail.outbox if "support-dispute-reply" in m.tags]) == 1
    html = staff_client.get(url).content.decode()
    assert "Looking now." in html and "VIP" in html  # staff see both in the timeline


def test_it_counts_what_needs_attention_on_the_admin_index(staff_client, customer, customer_account):
    _file(customer)
    Dispute.objects.create(
        source="chargeback",
        stripe_dispute_id="dp_due",
        account=customer_account,
        category="billing",
        subject="CB",
        stripe_status="needs_response",
        evidence_due_by=timezone.now() + timedelta(days=1),
    )
    from levqor.lib import attention

    counts = {q.label: q.count for q in attention.queue_counts()}
    assert counts["SLA credit requests awaiting a decision"] == 1
    assert counts["Disputes open or in review"] == 1
    assert counts["Chargebacks with evidence due within 3 days"] == 1
    due = staff_client.get(reverse("admin:support_dispute_changelist"), {"evidence": "due3"})
    assert "CB" in due.content.decode()
    assert SlaCreditRequest.objects.count() == 1
