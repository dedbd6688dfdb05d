import pytest
from django.core import mail

from compliance import terms
from compliance.models import AuditEvent, TermsAcceptance, TermsNotice, TermsVersion

from .conftest import terms_text

pytestmark = pytest.mark.django_db


def test_it_sends_customers_to_accept_the_current_terms_until_they_do(customer_client, customer, published_terms):
    response = customer_client.get("/account")
    assert response.status_code == 302
    assert response["Location"] == "/legal/accept-terms?next=%2Faccount"

    page = customer_client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Please accept our terms of service" in text and "Law and disputes" in text
    assert "have changed" not in text and "First version." not in text  # a first acceptance is not a change

    accepted = customer_client.post(
        "/legal/accept-terms", {"version": "2026-11", "agree": "on", "next": "/account"}, REMOTE_ADDR="203.0.113.9"
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/account"
    assert customer_client.get("/account").status_code == 200

    acceptance = TermsAcceptance.objects.get(user=customer)
    assert acceptance.version == published_terms
    assert acceptance.ip_address == "203.0.113.9"
    assert acceptance.mechanism == "web"
    assert AuditEvent.objects.filter(action="terms.accepted", actor=customer).count() == 1


def test_it_asks_again_when_a_new_version_is_published(customer_client, customer, published_terms, staff):
    terms.terms_accept(user=customer, ip_address="192.0.2.1", mechanism="web")
    assert customer_client.get("/account").status_code == 200

    newer = TermsVersion.objects.create(
        version="2027-01", text=terms_text(change="New terms."), changelog="Refunds clarified."
    )
    terms.terms_version_publish(version=newer, actor=staff)

    response = customer_client.get("/account")
    assert response.status_code == 302 and response["Location"].startswith("/legal/accept-terms")
    page = customer_client.get("/legal/accept-terms").content.decode()
    assert "Our terms of service have changed" in page and "Refunds clarified." in page and "New terms." in page


def test_it_refuses_acceptance_without_the_tick_and_writes_nothing(customer_client, customer, published_terms):
    response = customer_client.post("/legal/accept-terms", {"version": "2026-11"})
    assert response.status_code == 400
    assert "Tick the box to accept the terms, or sign out." in response.content.decode()
    stale = customer_client.post("/legal/accept-terms", {"version": "2025-01", "agree": "on"})
    assert stale.status_code == 400
    assert "The terms changed while you were reading" in stale.content.decode()
    assert not TermsAcceptance.objects.exists()


def test_it_does_not_gate_staff_public_pages_or_sign_out(client, staff_client, customer, published_terms):
    assert staff_client.get("/admin/").status_code == 200
    client.force_login(customer)
    assert client.get("/terms").status_code == 200
    assert client.get("/privacy-tools/opt-out").status_code == 200
    assert client.post("/logout").status_code == 302


def test_it_lets_a_person_use_their_rights_before_accepting_new_terms(customer_client, published_terms):
    assert customer_client.get("/account").status_code == 302  # the terms gate
    assert customer_client.get("/data-requests").status_code == 200


def test_without_published_terms_nobody_is_gated(customer_client):
    TermsVersion.objects.create(version="draft", text="Draft.", changelog="Draft.")
    assert customer_client.get("/account").status_code == 200


def test_publishing_emails_each_customer_once(
    staff_client, customer, other_customer, django_capture_on_commit_callbacks
):
    version = TermsVersion.objects.create(version="2026-12", text=terms_text(), changelog="We changed the SLA section.")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/compliance/termsversion/", {"action": "publish", "_selected_action": [version.pk], "apply": "1"}
        )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_published
    assert sorted(m.to[0] for m in mail.outbox) == sorted([customer.email, other_customer.email])
    assert "We changed the SLA section." in mail.outbox[0].body
    assert "http://testserver/legal/accept-terms" in mail.outbox[0].body
    assert "http://testserver/terms/v/2026-12" in mail.outbox[0].body  # the words to accept, in full
    assert staff_client.get("/terms/v/2026-12").status_code == 200

    # Publishing again, or the task running twice, emails no one twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert not terms.terms_version_publish(version=version, actor=None)
    assert terms.terms_notify(version_id=version.pk) == 0
    assert len(mail.outbox) == 2
    assert TermsNotice.objects.filter(version=version).count() == 2


def test_a_published_version_is_frozen_in_admin(staff_client, published_terms):
    response = staff_client.post(
        f"/admin/compliance/termsversion/{published_terms.pk}/change/",
        {"version": "2026-11", "text": "Rewritten!", "changelog": "x"},
    )
    assert response.status_code == 403
    published_terms.refresh_from_db()
    assert published_terms.text == terms_text()


def test_the_api_reports_and_records_acceptance(customer_client, customer, published_terms):
    before = customer_client.get("/api/legal/acceptance")
    assert before.status_code == 200
    assert before.json()["current_version"] == "2026-11" and before.json()["accepted"] is False
    assert before.json()["current_version_url"] == "http://testserver/terms/v/2026-11"
    assert before.json()["current_version_sha256"] == published_terms.text_sha256

    bad = customer_client.post("/api/legal/accept-terms", {"version": "1999"}, content_type="application/json")
    assert bad.status_code == 400
    missing = customer_client.post("/api/legal/accept-terms", {}, content_type="application/json")
    assert missing.status_code == 400
    assert not TermsAcceptance.objects.exists()

    created = customer_client.post("/api/legal/accept-terms", {"version": "2026-11"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["accepted"] is True
    again = customer_client.post("/api/legal/accept-terms", {"version": "2026-11"}, content_type="application/json")
    assert again.status_code == 200
    assert TermsAcceptance.objects.get(user=customer).mechanism == "api"
    assert customer_client.get("/api/legal/acceptance").json()["history"][0]["version"] == "2026-11"


def test_the_api_shows_only_your_own_acceptances(client, customer, other_customer, published_terms):
    terms.terms_accept(user=customer, ip_address=None, mechanism="web")
    client.force_login(other_customer)
    body = client.get("/api/legal/acceptance").json()
    assert body["accepted"] is False and body["history"] == []


def test_the_api_needs_a_signed_in_user(client, published_terms):
    assert client.get("/api/legal/acceptance").status_code in (401, 403)
    assert client.post("/api/legal/accept-terms", {"version": "2026-11"}).status_code in (401, 403)


def test_the_acceptance_rate_counts_active_customers(customer, other_customer, published_terms):
    terms.terms_accept(user=customer, ip_address=None, mechanism="web")
    assert terms.terms_acceptance_rate() == {"version": "2026-11", "accepted": 1, "total": 2, "rate": 50.0}


def test_acceptances_are_exported_as_plain_dicts(customer, published_terms):
    terms.terms_accept(user=customer, ip_address="192.0.2.1", mechanism="web")
    assert terms.terms_export(user=customer) == [
        {
            "version": "2026-11",
            "accepted_at": TermsAcceptance.objects.get().accepted_at.isoformat(),
            "ip_address": "192.0.2.1",
            "mechanism": "web",
            "text_sha256": published_terms.text_sha256,
        }
    ]
