import json

import pytest
from django.test import RequestFactory, override_settings
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from levqor.api import errors
from levqor.lib.drf import errors as drf_errors
from levqor.workflows import selectors


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "correlation_id"}
    assert body["error"]["correlation_id"] == response["X-Request-ID"]
    return body["error"]


class PublicPingApi(APIView):
    """Like status's public JSON views: opts out of keys, quotas and throttles."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        if request.GET.get("fail"):
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"when": ["Must be a date."]})
        return Response({"ok": True})


urlpatterns = [path("api/test/public", PublicPingApi.as_view())]


@pytest.mark.django_db
class TestErrorFormat:
    def test_it_answers_an_unknown_api_path_with_a_json_404(self, client):
        response = client.get("/api/nothing-here", headers={"X-Request-ID": "trace-12345678"})
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        error = _error(response)
        assert error["code"] == "not_found" and error["correlation_id"] == "trace-12345678"

    def test_it_keeps_html_404_pages_outside_the_api(self, client):
        response = client.get("/no-such-page")
        assert response.status_code == 404 and "text/html" in response["Content-Type"]

    def test_it_answers_a_crash_with_a_json_500_and_no_trace(self, api, monkeypatch):
        def boom(**kwargs):
            raise RuntimeError("secret internals")

        monkeypatch.setattr(selectors, "workflow_list", boom)
        response = api.get("/api/workflows")
        assert response.status_code == 500
        error = _error(response)
        assert error["code"] == "server_error"
        assert "secret internals" not in response.content.decode() and "Traceback" not in response.content.decode()

    def test_its_django_handlers_answer_json_under_api_and_html_elsewhere(self):
        factory = RequestFactory()
        response = drf_errors.server_error(factory.get("/api/workflows"))
        assert response.status_code == 500 and json.loads(response.content)["error"]["code"] == "server_error"
        assert drf_errors.bad_request(factory.get("/api/x"), None).status_code == 400
        denied = drf_errors.permission_denied(factory.get("/api/x"), None)
        assert json.loads(denied.content)["error"]["code"] == "permission_denied"
        with override_settings(DEBUG=False):
            assert "text/html" in drf_errors.server_error(factory.get("/pricing"))["Content-Type"]

    def test_it_documents_every_code_it_uses(self):
        for code in ("validation_error", "not_authenticated", "invalid_api_key", "api_key_revoked", "api_key_expired"):
            assert code in errors.ERROR_CODES
        for code in ("account_paused", "account_read_only", "not_found", "rate_limited", "quota_exceeded"):
            assert code in errors.ERROR_CODES
        assert errors.AccountPaused.default_code in errors.ERROR_CODES

    def test_it_flattens_nested_errors_to_dotted_fields(self):
        nested = {"steps": [{}, {"name": ["Bad."]}], "name": ["Required."], "x": "Oops."}
        assert drf_errors.flatten_errors(nested) == {"steps.1.name": ["Bad."], "name": ["Required."], "x": ["Oops."]}
        assert drf_errors.flatten_errors(["Whole body wrong."]) == {"non_field_errors": ["Whole body wrong."]}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_it_leaves_public_views_that_opt_out_alone(client, settings):
    settings.LEVQOR_API_BURST_PER_IP = 1
    for _ in range(3):  # no burst limit, and a bad key is ignored, not a 401
        response = client.get("/api/test/public", headers={"X-Api-Key": "garbage"})
        assert response.status_code == 200 and response.json() == {"ok": True}
        assert "X-Quota-Limit" not in response and "X-RateLimit-Limit" not in response
    response = client.get("/api/test/public?fail=1")
    assert response.status_code == 400
    assert _error(response)["details"]["fields"] == {"when": ["Must be a date."]}


@pytest.mark.django_db
def test_it_answers_a_pathologically_nested_body_with_400_not_500(client, customer_account):
    from levqor.api.models import ApiKey
    from levqor.api.testing import issue_key
    from levqor.workflows.models import Workflow

    key = issue_key(customer_account, mode=ApiKey.Mode.TEST, name="Deep")
    body = '{"name": "x", "steps": [], "d": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"

    response = client.post("/api/workflows", body, content_type="application/json", HTTP_X_API_KEY=key.secret)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "nested too deeply" in response.json()["error"]["message"]
    assert not Workflow.objects.exists()
