"""POST /api/dsar/export and GET /api/dsar/exports: session and API key."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from compliance.dsar.models import DataExport
from levqor.api.testing import ApiCaller, issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_api(customer):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(customer)
    return client


def csrf_post(client, path):
    client.get("/data-requests")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    return client.post(path, {}, format="json", HTTP_X_CSRFTOKEN=token)


def test_it_requests_an_export_for_the_signed_in_person(session_api, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(session_api, "/api/dsar/export")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["requested_via"] == "api" and body["due_on"]
    export = DataExport.objects.get(user=customer)
    assert export.status == DataExport.Status.READY
    assert mail.outbox[-1].to == [customer.email]

    listed = session_api.get("/api/dsar/exports").json()
    assert listed["count"] == 1
    assert listed["results"][0]["download_url"].startswith("http://testserver/data-requests/download/")


def test_it_refuses_a_second_request_within_30_days_with_the_date(
    session_api, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        csrf_post(session_api, "/api/dsar/export")
    response = csrf_post(session_api, "/api/dsar/export")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "dsar_too_soon"
    assert "Your next request is possible from" in error["message"]
    assert int(response["Retry-After"]) > 29 * 86400
    assert DataExport.objects.filter(user=customer).count() == 1


def test_it_needs_a_csrf_token_with_a_session(customer):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(customer)
    assert client.post("/api/dsar/export", {}, format="json").status_code == 403
    assert not DataExport.objects.exists()


def test_it_answers_401_without_credentials(client):
    assert client.post("/api/dsar/export", {}, content_type="application/json").status_code in (401, 403)
    assert client.get("/api/dsar/exports").status_code in (401, 403)
    assert not DataExport.objects.exists()


def test_it_lists_only_the_persons_own_exports(client, customer, other_customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        from compliance.dsar import exports

        exports.export_request(user=other_customer, via="web", actor=other_customer)
    client.force_login(customer)
    assert client.get("/api/dsar/exports").json()["count"] == 0


def test_a_live_key_acts_for_the_person_who_created_it(
    client, customer_account, customer, staff, django_capture_on_commit_callbacks
):
    from levqor.api.services import api_key_create

    own = api_key_create(account=customer_account, name="Mine", mode="live", actor=customer)
    api = ApiCaller(client, own.secret)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/dsar/export")
    assert response.status_code == 202, response.content
    assert DataExport.objects.get().user == customer
    assert api.get("/api/dsar/exports").json()["count"] == 1

    # A key nobody of the account created (or one staff made for it) acts for nobody.
    for actor in (None, staff):
        other = api_key_create(account=customer_account, name="Not theirs", mode="live", actor=actor)
        refused = ApiCaller(client, other.secret).post("/api/dsar/export")
        assert refused.status_code == 403
        assert "created by a person of its account" in refused.json()["error"]["message"]
    assert DataExport.objects.count() == 1


def test_it_keeps_sandbox_keys_away_from_real_data(
    client, customer_account, customer, django_capture_on_commit_callbacks
):
    from compliance.dsar import exports

    with django_capture_on_commit_callbacks(execute=False):
        exports.export_request(user=customer, via="web", actor=customer)
    api = ApiCaller(client, issue_key(customer_account, mode="test").secret)
    response = api.post("/api/dsar/export")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert api.get("/api/dsar/exports").json()["count"] == 0
    assert DataExport.objects.count() == 1
