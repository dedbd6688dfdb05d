import hashlib

import pytest
from django.utils import timezone

from compliance.models import AuditEvent
from levqor.api import services
from levqor.api.models import ApiKey
from levqor.api.testing import ApiCaller


def _error(response):
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details", "correlation_id"}
    return body["error"]


@pytest.mark.django_db
class TestKeys:
    def test_it_stores_only_a_hash_and_a_visible_prefix(self, sandbox_key, live_key):
        assert sandbox_key.secret.startswith("lvq_test_") and live_key.secret.startswith("lvq_live_")
        key = ApiKey.objects.get(pk=sandbox_key.key.pk)
        assert key.secret_hash == hashlib.sha256(sandbox_key.secret.encode()).hexdigest()
        assert sandbox_key.secret.startswith(key.prefix) and len(key.prefix) == 17
        stored = " ".join(str(value) for value in ApiKey.objects.values_list().get(pk=key.pk))
        assert sandbox_key.secret not in stored
        assert AuditEvent.objects.filter(action="api_key.created", target_id=str(key.pk)).exists()

    def test_it_accepts_the_key_as_x_api_key_or_bearer(self, client, sandbox_key):
        assert client.get("/api/workflows", headers={"X-Api-Key": sandbox_key.secret}).status_code == 200
        bearer = {"Authorization": f"Bearer {sandbox_key.secret}"}
        assert client.get("/api/workflows", headers=bearer).status_code == 200

    def test_it_answers_401_for_a_missing_unknown_revoked_or_expired_key(self, client, sandbox_key, customer_account):
        response = client.get("/api/workflows")
        assert response.status_code == 401 and _error(response)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")

        for bad in ("nope", "lvq_test_" + "x" * 32, sandbox_key.secret[:-1] + "!"):
            response = client.get("/api/workflows", headers={"X-Api-Key": bad})
            assert response.status_code == 401 and _error(response)["code"] == "invalid_api_key"
        response = client.get("/api/workflows", headers={"Authorization": "Basic abc"})
        assert response.status_code == 401

        services.api_key_revoke(key=sandbox_key.key, actor=None)
        response = client.get("/api/workflows", headers={"X-Api-Key": sandbox_key.secret})
        assert response.status_code == 401 and _error(response)["code"] == "api_key_revoked"

        expired = services.api_key_create(account=customer_account, name="Old", mode="test", actor=None)
        ApiKey.objects.filter(pk=expired.key.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
        response = client.get("/api/workflows", headers={"X-Api-Key": expired.secret})
        assert response.status_code == 401 and _error(response)["code"] == "api_key_expired"

    def test_it_keeps_the_old_key_working_through_the_rotation_overlap_then_401(self, client, sandbox_key, monkeypatch):
        issued = services.api_key_rotate(key=sandbox_key.key, overlap_hours=24, actor=None)
        old, new = ApiCaller(client, sandbox_key.secret), ApiCaller(client, issued.secret)
        assert issued.key.rotated_from_id == sandbox_key.key.pk and issued.key.mode == "test"
        assert old.get("/api/workflows").status_code == 200
        assert new.get("/api/workflows").status_code == 200

        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timezone.timedelta(hours=23, minutes=59))
        assert old.get("/api/workflows").status_code == 200
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timezone.timedelta(hours=24, seconds=1))
        response = old.get("/api/workflows")
        assert response.status_code == 401 and _error(response)["code"] == "api_key_expired"
        assert new.get("/api/workflows").status_code == 200
        assert AuditEvent.objects.filter(action="api_key.rotated", target_id=str(sandbox_key.key.pk)).exists()

    def test_it_stops_the_old_key_at_once_with_no_overlap(self, client, sandbox_key):
        services.api_key_rotate(key=sandbox_key.key, overlap_hours=0, actor=None)
        assert ApiCaller(client, sandbox_key.secret).get("/api/workflows").status_code == 401

    def test_it_refuses_to_rotate_a_key_twice_or_a_revoked_key(self, sandbox_key, live_key):
        from django.core.exceptions import ValidationError

        services.api_key_rotate(key=sandbox_key.key, actor=None)
        with pytest.raises(ValidationError):
            services.api_key_rotate(key=sandbox_key.key, actor=None)
        services.api_key_revoke(key=live_key.key, actor=None)
        with pytest.raises(ValidationError):
            services.api_key_rotate(key=live_key.key, actor=None)
        with pytest.raises(ValidationError):
            services.api_key_rotate(key=ApiKey.objects.get(rotated_from=sandbox_key.key), overlap_hours=5, actor=None)
        assert ApiKey.objects.count() == 3

    def test_it_revokes_once(self, sandbox_key):
        assert services.api_key_revoke(key=sandbox_key.key, actor=None) is True
        assert services.api_key_revoke(key=sandbox_key.key, actor=None) is False
        assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1

    def test_it_records_last_use_at_most_once_a_minute(self, api, sandbox_key, django_assert_max_num_queries):
        assert sandbox_key.key.last_used_at is None
        api.get("/api/workflows")
        first = ApiKey.objects.get(pk=sandbox_key.key.pk).last_used_at
        assert first is not None
        api.get("/api/workflows")
        assert ApiKey.objects.get(pk=sandbox_key.key.pk).last_used_at == first

    def test_it_rejects_bad_key_input_and_writes_nothing(self, customer_account):
        from django.core.exceptions import ValidationError

        for name, mode in (("", "test"), ("x" * 101, "test"), ("ok", "prod")):
            with pytest.raises(ValidationError):
                services.api_key_create(account=customer_account, name=name, mode=mode, actor=None)
        assert ApiKey.objects.count() == 0


@pytest.mark.django_db
class TestKeysPage:
    def test_it_needs_a_signed_in_customer(self, client, staff):
        assert client.get("/account/api-keys").status_code == 302
        client.force_login(staff)
        assert client.get("/account/api-keys").status_code == 404

    def test_it_creates_a_key_and_shows_the_secret_once(self, customer_client, customer):
        response = customer_client.post("/account/api-keys", {"name": "CRM sync", "mode": "live"})
        # POST-redirect-GET: the secret is shown by a GET, so a reload cannot create a second key.
        assert response.status_code == 302 and response["Location"] == "/account/api-keys/new"
        key = ApiKey.objects.get()
        shown = customer_client.get("/account/api-keys/new")
        assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
        secret = shown.context["secret"]
        assert secret.startswith("lvq_live_") and secret in shown.content.decode()
        assert key.created_by == customer and key.account == customer.account
        again = customer_client.get("/account/api-keys/new", follow=True)
        assert secret not in again.content.decode() and "shown only once" in again.content.decode()
        listing = customer_client.get("/account/api-keys").content.decode()
        assert key.prefix in listing and secret not in listing
        assert not any(secret in str(value) for value in customer_client.session.values())
        actions = AuditEvent.objects.filter(action="api_key.created", actor=customer)
        assert actions.count() == 1
        assert ApiKey.objects.count() == 1

    def test_it_rejects_a_bad_form_and_writes_nothing(self, customer_client):
        response = customer_client.post("/account/api-keys", {"name": "", "mode": "galaxy"})
        assert response.status_code == 400
        assert response.context["form"].errors.keys() == {"name", "mode"}
        assert ApiKey.objects.count() == 0

    def test_it_rotates_with_a_chosen_overlap_and_revokes(self, customer_client, live_key):
        response = customer_client.post(f"/account/api-keys/{live_key.key.pk}/rotate", {"overlap_hours": "72"})
        assert response.status_code == 302 and response["Location"] == "/account/api-keys/new"
        new = ApiKey.objects.get(rotated_from=live_key.key)
        shown = customer_client.get("/account/api-keys/new")
        assert shown.context["secret"].startswith(new.prefix)
        assert "keeps working until" in shown.content.decode()
        old = ApiKey.objects.get(pk=live_key.key.pk)
        assert old.state() == "rotating"
        assert abs((old.expires_at - timezone.now()).total_seconds() - 72 * 3600) < 60

        response = customer_client.post(f"/account/api-keys/{live_key.key.pk}/rotate", {"overlap_hours": "24"})
        assert response.status_code == 302 and ApiKey.objects.count() == 2
        response = customer_client.post(f"/account/api-keys/{new.pk}/rotate", {"overlap_hours": "5"})
        assert response.status_code == 302 and ApiKey.objects.count() == 2

        response = customer_client.post(f"/account/api-keys/{new.pk}/revoke")
        assert response.status_code == 302
        assert ApiKey.objects.get(pk=new.pk).state() == "revoked"

    def test_it_asks_before_revoking_and_says_what_breaks(self, customer_client, live_key):
        listing = customer_client.get("/account/api-keys").content.decode()
        assert f'href="/account/api-keys/{live_key.key.pk}/revoke"' in listing

        confirm = customer_client.get(f"/account/api-keys/{live_key.key.pk}/revoke")

        html = confirm.content.decode()
        assert confirm.status_code == 200
        assert "401 Unauthorized" in html and "cannot be undone" in html and live_key.key.prefix in html
        assert ApiKey.objects.get(pk=live_key.key.pk).state() == "active"
        customer_client.post(f"/account/api-keys/{live_key.key.pk}/revoke")
        gone = customer_client.get(f"/account/api-keys/{live_key.key.pk}/revoke")
        assert gone.status_code == 302 and ApiKey.objects.get(pk=live_key.key.pk).state() == "revoked"

    def test_it_gives_another_customer_404(self, client, other_customer, live_key):
        client.force_login(other_customer)
        assert client.post(f"/account/api-keys/{live_key.key.pk}/revoke").status_code == 404
        assert client.get(f"/account/api-keys/{live_key.key.pk}/revoke").status_code == 404
        assert client.post(f"/account/api-keys/{live_key.key.pk}/rotate", {"overlap_hours": "0"}).status_code == 404
        assert ApiKey.objects.get(pk=live_key.key.pk).state() == "active"
        assert live_key.key.prefix not in client.get("/account/api-keys").content.decode()


@pytest.mark.django_db
class TestKeyAdmin:
    def test_it_shows_the_changelist_and_change_page(self, staff_client, live_key):
        assert staff_client.get("/admin/api/apikey/").status_code == 200
        assert staff_client.get("/admin/api/apikey/?state=usable").status_code == 200
        page = staff_client.get(f"/admin/api/apikey/{live_key.key.pk}/change/")
        assert page.status_code == 200 and live_key.key.prefix in page.content.decode()

    def test_it_creates_a_key_and_shows_the_secret_once(self, staff_client, customer_account, staff):
        response = staff_client.post(
            "/admin/api/apikey/add/", {"account": customer_account.pk, "name": "Zapier", "mode": "live"}, follow=True
        )
        assert response.status_code == 200
        key = ApiKey.objects.get(name="Zapier")
        assert key.created_by == staff and key.secret_hash
        messages = [str(m) for m in response.context["messages"]]
        assert any(key.prefix in m and "shown only once" in m for m in messages)

    def test_it_revokes_and_rotates_from_actions(self, staff_client, live_key, sandbox_key):
        staff_client.post(
            "/admin/api/apikey/", {"action": "rotate_keys", "_selected_action": [live_key.key.pk]}, follow=True
        )
        assert ApiKey.objects.filter(rotated_from=live_key.key).exists()
        revoke = {"action": "revoke_keys", "_selected_action": [sandbox_key.key.pk]}
        confirm = staff_client.post("/admin/api/apikey/", revoke).content.decode()
        assert "gets 401 from its next call" in confirm and "This cannot be undone." in confirm
        assert ApiKey.objects.get(pk=sandbox_key.key.pk).state() == "active"
        staff_client.post("/admin/api/apikey/", {**revoke, "apply": "1"}, follow=True)
        assert ApiKey.objects.get(pk=sandbox_key.key.pk).state() == "revoked"
