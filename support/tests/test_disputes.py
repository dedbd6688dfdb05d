"""Customer disputes: the page, staff work through the service, emails, privacy."""

import pytest
from django.core import mail
from django.urls import reverse

from compliance.models import AuditEvent, OutboundEmail
from support import services
from support.models import Dispute, DisputeMessage

pytestmark = pytest.mark.django_db

URL = "/disputes"


def valid(**changes) -> dict:
    return {"category": "billing", "subject": "Charged twice", "description": "Two charges on 3 October.", **changes}


def sent(template: str) -> list:
    return [m for m in mail.outbox if template in m.tags]


def test_it_explains_the_process_and_links_refunds_billing_and_terms(customer_client):
    html = customer_client.get(URL).content.decode()
    for text in ("Contact support", "Escalation", "Formal complaint", "External dispute resolution", "Chargebacks"):
        assert text in html
    for url in ("/refunds", "/billing", "/terms"):
        assert f'href="{url}"' in html


def test_it_is_linked_from_refunds_and_billing(customer_client):
    assert 'href="/disputes"' in customer_client.get("/refunds").content.decode()
    assert 'href="/disputes"' in customer_client.get("/billing").content.decode()


def test_it_opens_a_dispute_and_emails_support_once(customer_client, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(URL, valid())
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("support:dispute_detail", args=[dispute.pk])
    assert dispute.account == customer.account and dispute.user == customer and dispute.status == "open"
    assert dispute.source == "customer" and dispute.category == "billing"
    assert AuditEvent.objects.filter(action="support.dispute.opened", target_id=str(dispute.pk)).exists()
    assert len(sent("support-dispute-received")) == 1 and sent("support-dispute-received")[0].to == [
        "support@levqor.local"
    ]
    assert "Charged twice" in customer_client.get(URL).content.decode()


def test_it_sends_the_customer_a_receipt_with_the_reference(
    customer_client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(URL, valid(subject="Charged twice for O'Brien's plan"))
    dispute = Dispute.objects.get()
    receipts = sent("support-dispute-receipt")
    assert len(receipts) == 1 and receipts[0].to == [customer.email]
    assert receipts[0].subject == f"We have your dispute #{dispute.pk}: Charged twice for O'Brien's plan"
    assert f"reference is #{dispute.pk}" in receipts[0].body and "O'Brien's" in receipts[0].body
    assert reverse("support:dispute_detail", args=[dispute.pk]) in receipts[0].body
    assert OutboundEmail.objects.filter(kind="support.dispute-receipt", about_id=str(dispute.pk)).count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"category": "refund-please"}, "valid choice"),
        ({"category": ""}, "required"),
        ({"subject": ""}, "required"),
        ({"description": "   "}, "required"),
        ({"subject": "x" * 201}, "at most 200 characters"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_error_and_no_row(customer_client, changes, message):
    response = customer_client.post(URL, valid(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Dispute.objects.exists() and not OutboundEmail.objects.exists()


def test_it_shows_staff_replies_but_never_internal_notes(
    customer_client, customer, staff, django_capture_on_commit_callbacks
):
    dispute = services.dispute_open(account=customer.account, user=customer, actor=customer, **valid())
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.dispute_update(
            dispute=dispute,
            status="in-review",
            reply="We are checking with Stripe.",
            internal_note="Probably a retried invoice.",
            actor=staff,
        )
        services.dispute_update(
            dispute=dispute, status="resolved", resolution_notes="Refunded the duplicate charge.", actor=staff
        )
        services.dispute_update(dispute=dispute, status="resolved", actor=staff)  # nothing new: no email
    assert changed == ["status", "reply", "internal_note"]
    html = customer_client.get(reverse("support:dispute_detail", args=[dispute.pk])).content.decode()
    assert "We are checking with Stripe." in html and "Refunded the duplicate charge." in html
    assert "Probably a retried invoice." not in html
    assert len(sent("support-dispute-reply")) == 1
    assert [m.subject for m in sent("support-dispute-status")] == [
        f"Your dispute #{dispute.pk} is now In review",
        f"Your dispute #{dispute.pk} is now Resolved",
    ]
    assert all(m.to == ["owner@acme.test"] for m in sent("support-dispute-"))
    assert "Probably a retried invoice." not in "".join(m.body for m in mail.outbox)
    dispute.refresh_from_db()
    assert dispute.resolved_at is not None
    assert AuditEvent.objects.filter(target_id=str(dispute.pk), action__startswith="support.dispute.").count() == 6


def test_it_lets_the_customer_add_a_message_while_open(customer_client, customer, staff):
    dispute = services.dispute_open(account=customer.account, user=customer, actor=customer, **valid())
    url = reverse("support:dispute_detail", args=[dispute.pk])
    assert customer_client.post(url, {"body": "Receipt attached to my email."}).status_code == 302
    assert dispute.messages.get().kind == DisputeMessage.Kind.CUSTOMER
    services.dispute_update(dispute=dispute, status="closed", actor=staff)
    refused = customer_client.post(url, {"body": "One more thing"})
    assert refused.status_code == 400 and "finished" in refused.content.decode()


def test_it_shows_another_customer_a_404(client, customer, other_customer):
    dispute = services.dispute_open(account=customer.account, user=customer, actor=customer, **valid())
    url = reverse("support:dispute_detail", args=[dispute.pk])
    # The owner sees it on both pages, so the checks below can fail.
    client.force_login(customer)
    assert client.get(url).status_code == 200
    assert "Charged twice" in client.get(URL).content.decode() and url in client.get(URL).content.decode()
    client.force_login(other_customer)
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "hello"}).status_code == 404
    page = client.get(URL).content.decode()
    assert "Charged twice" not in page and url not in page
    assert not dispute.messages.exists()


def test_it_hides_chargebacks_from_customer_pages(customer_client, customer_account):
    Dispute.objects.create(
        source="chargeback",
        stripe_dispute_id="dp_x",
        account=customer_account,
        category="billing",
        subject="Chargeback from the card issuer",
    )
    html = customer_client.get(URL).content.decode()
    # A subject no random token on the page can spell (two capitals could:
    # the CSP nonce and the CSRF token are random base64).
    assert "Chargeback from the card issuer" not in html and "dp_x" not in html


def test_it_shows_the_emergency_contacts_to_everyone(client):
    html = client.get("/emergency-contacts").content.decode()
    assert "severity-1" in html and "SEV1" in html and "support@levqor.local" in html
    # It promises only what happens: monitoring alerts on-call; nothing pages anyone from an email.
    assert "alerted by email and chat" in html and "page the on-call" not in html


def test_it_erases_what_the_person_wrote_and_keeps_the_facts(customer, staff, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from support import rules
    from support.privacy import ERASED, erase_user, support_rows

    dispute = services.dispute_open(account=customer.account, user=customer, actor=customer, **valid())
    services.dispute_customer_message(dispute=dispute, user=customer, body="My phone is 0123", actor=customer)
    period = rules.day_period(dispute.created_at.date())
    request = services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=period,
        impact="minor",
        description="Personal story",
        attachment=SimpleUploadedFile("a.txt", b"private"),
        actor=customer,
    )
    path = request.attachment.path
    assert {row["kind"] for row in support_rows(user=customer)} == {"dispute", "sla_credit_request"}
    summary = erase_user(user=customer, actor=staff)
    assert summary["support_disputes"] == 1 and summary["support_attachments"] == 1
    request.refresh_from_db()
    dispute.refresh_from_db()
    assert request.user is None and request.description == ERASED and not request.attachment
    assert dispute.user is None and dispute.description == ERASED and dispute.category == "billing"
    assert dispute.messages.get().body == ERASED
    import os

    assert not os.path.exists(path)
    assert erase_user(user=customer, actor=staff)["support_disputes"] == 0  # safe to run twice
    from compliance.dsar import providers

    assert "support" in {p.name for p in providers.all_providers()}


def test_it_shows_the_process_to_visitors_and_asks_them_to_sign_in(client):
    page = client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200 and "Formal complaint" in html and "Sign in</a> to raise a dispute" in html
    response = client.post(URL, valid())
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not Dispute.objects.exists()
