import csv
import io

import pytest
from django.test import Client, RequestFactory

from compliance import consent
from compliance.models import AuditEvent, CookieConsent

pytestmark = pytest.mark.django_db

NECESSARY = {"csrftoken", "sessionid", consent.COOKIE_NAME}


def test_it_shows_the_banner_and_sets_nothing_optional_before_a_choice(client):
    response = client.get("/pricing")
    page = response.content.decode()

    assert 'id="cookie-banner"' in page
    assert 'value="accept_all"' in page and 'value="reject_all"' in page
    # Reject is a button exactly like Accept: same element, same class.
    assert '<button type="submit" name="choice" value="reject_all" class="button">Reject all</button>' in page
    assert '<button type="submit" name="choice" value="accept_all" class="button">Accept all</button>' in page
    assert set(response.cookies) <= {"csrftoken"}
    assert CookieConsent.objects.count() == 0


def test_it_records_reject_all_and_hides_the_banner(client):
    response = client.post("/cookies/consent", {"choice": "reject_all", "next": "/pricing"}, HTTP_USER_AGENT="UA/1")

    assert response.status_code == 302 and response["Location"] == "/pricing"
    record = CookieConsent.objects.get()
    assert record.mechanism == "reject_all"
    assert record.categories == {"necessary": True, "functional": False, "analytics": False, "marketing": False}
    assert record.banner_version == consent.BANNER_VERSION
    assert record.user is None and record.user_agent == "UA/1"
    assert record.ip_hash and "127.0.0.1" not in record.ip_hash
    assert consent.COOKIE_NAME in response.cookies
    assert response.cookies[consent.COOKIE_NAME]["httponly"]

    page = client.get("/pricing").content.decode()
    assert 'id="cookie-banner"' not in page


def test_it_records_accept_all_and_custom_choices_under_one_consent_id(client):
    client.post("/cookies/consent", {"choice": "accept_all"})
    client.post("/cookies/consent", {"choice": "save", "functional": "on"})

    first, second = CookieConsent.objects.order_by("created_at", "pk")
    assert first.consent_id == second.consent_id
    assert (first.analytics, first.marketing) == (True, True)
    assert (second.functional, second.analytics, second.marketing) == (True, False, False)
    assert second.mechanism == "custom"
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    state = consent.state_from_request(request)
    assert state.allows("functional") and not state.allows("analytics")


def test_withdrawing_is_as_easy_as_giving_from_the_preferences_page(client):
    client.post("/cookies/consent", {"choice": "accept_all"})
    page = client.get("/cookies").content.decode()
    assert "<h1>Cookie preferences</h1>" in page
    assert 'value="reject_all"' in page

    client.post("/cookies/consent", {"choice": "reject_all"})
    latest = CookieConsent.objects.order_by("-created_at", "-pk").first()
    assert latest.mechanism == "reject_all" and not latest.analytics


def test_the_footer_links_to_cookie_preferences_on_every_page(client):
    for path in ("/", "/pricing", "/terms", "/login"):
        assert 'href="/cookies"' in client.get(path).content.decode(), path


def test_it_refuses_an_unknown_choice_without_writing(client):
    response = client.post("/cookies/consent", {"choice": "maybe"})
    assert response.status_code == 400
    assert "Choose Accept all, Reject all or Save my choices." in response.content.decode()
    assert CookieConsent.objects.count() == 0
    assert consent.COOKIE_NAME not in response.cookies


def test_it_ignores_an_offsite_next(client):
    response = client.post("/cookies/consent", {"choice": "reject_all", "next": "https://evil.example/"})
    assert response["Location"] == "/cookies"


def test_a_forged_consent_cookie_counts_as_no_choice(client):
    client.cookies[consent.COOKIE_NAME] = "forged:value"
    assert 'id="cookie-banner"' in client.get("/").content.decode()


def test_an_older_banner_version_asks_again(client, monkeypatch):
    client.post("/cookies/consent", {"choice": "accept_all"})
    monkeypatch.setattr(consent, "BANNER_VERSION", "2099-01")
    assert 'id="cookie-banner"' in client.get("/").content.decode()


def test_a_signed_in_choice_is_linked_to_the_user_audited_and_exported(customer_client, customer):
    customer_client.post("/cookies/consent", {"choice": "accept_all"})

    record = CookieConsent.objects.get()
    assert record.user == customer
    assert AuditEvent.objects.filter(action="consent.cookies_chosen", actor=customer).count() == 1
    exported = consent.consent_export(user=customer)
    assert exported[0]["mechanism"] == "accept_all" and exported[0]["categories"]["analytics"] is True


def test_staff_can_export_consent_records_as_csv(staff_client):
    Client().post("/cookies/consent", {"choice": "reject_all"})
    response = staff_client.post(
        "/admin/compliance/cookieconsent/",
        {"action": "export_csv", "_selected_action": list(CookieConsent.objects.values_list("pk", flat=True))},
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "created_at" and rows[1][-1] == "reject_all"
    assert AuditEvent.objects.filter(action="consent.exported").exists()


def test_consent_counts_use_each_visitors_latest_choice(client):
    client.post("/cookies/consent", {"choice": "accept_all"})
    client.post("/cookies/consent", {"choice": "reject_all"})
    Client().post("/cookies/consent", {"choice": "accept_all"})

    counts = consent.consent_counts()
    assert counts == {"total": 2, "functional": 1, "analytics": 1, "marketing": 1, "rejected_all": 1}
