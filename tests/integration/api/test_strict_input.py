"""Strict input: every write endpoint refuses a field it does not take with
400 `unknown_field` naming it, and writes nothing; the same body without it
is accepted."""

from datetime import UTC

import pytest
from django.conf import settings
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST
from drf_spectacular.generators import SchemaGenerator

from compliance import terms
from compliance.models import AuditEvent, TermsVersion
from compliance.terms_first import first_text
from levqor.api.models import ApiKey
from levqor.api.services import api_key_create
from levqor.api.testing import ApiCaller
from levqor.workflows import services as workflow_services
from status import services as status_services
from status.models import Component
from support import rules
from support import services as support_services

pytestmark = pytest.mark.django_db

STEPS = [{"type": "transform", "name": "greet", "set": {"subject": "Hi {{email}}"}}]


def _last_month() -> str:
    return rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1).strftime("%Y-%m")


@pytest.fixture
def world(client, customer, customer_account, staff):
    """A live key created by the customer, a workflow, a terms version, an SLA request to decide and a ticket."""
    secret = api_key_create(account=customer_account, name="Live", mode=ApiKey.Mode.LIVE, actor=customer).secret
    workflow = workflow_services.workflow_create(
        account=customer_account, sandbox=False, name="Welcome", steps=STEPS, input_schema={}, actor=None
    )
    version = TermsVersion.objects.create(
        version="2026-11", text=first_text(support_email="help@example.test"), changelog="First."
    )
    terms.terms_version_publish(version=version, actor=staff)
    sla_request = support_services.sla_request_file(
        account=customer_account,
        user=customer,
        plan="growth",
        period=rules.month_period(rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1)),
        impact="major",
        description="Down.",
        actor=customer,
    )
    ticket = support_services.ticket_open(
        account=customer_account, user=customer, subject="Help", body="Stuck.", actor=customer
    )
    return {
        "key": ApiCaller(client, secret),
        "workflow": workflow,
        "sla_request": sla_request,
        "ticket": ticket,
        "staff": staff,
    }


# (method, path, a valid body): every write operation of the schema.
WRITES = {
    ("POST", "/api/workflows"): lambda w: {"name": "Another", "steps": STEPS},
    ("PATCH", "/api/workflows/{workflow_id}"): lambda w: {"name": "Renamed"},
    ("POST", "/api/workflows/{workflow_id}/runs"): lambda w: {"payload": {"email": "a@b.co"}},
    ("POST", "/api/sla-credits/request"): lambda w: {
        "period_kind": "day",
        "incident_date": timezone.now().date().isoformat(),
        "impact": "minor",
        "description": "Slow.",
    },
    ("POST", "/api/disputes"): lambda w: {"category": "billing", "subject": "Twice", "description": "Paid twice."},
    ("POST", "/api/support/tickets"): lambda w: {"subject": "Help", "body": "Runs are stuck."},
    ("POST", "/api/support/tickets/{ticket_id}"): lambda w: {"body": "Still stuck."},
    ("POST", "/api/admin/sla-credits/{request_id}/decision"): lambda w: {"status": "rejected", "notes": "No."},
    ("POST", "/api/legal/accept-terms"): lambda w: {"version": "2026-11"},
    ("POST", "/api/gdpr/opt-out"): lambda w: {"marketing": True},
    ("POST", "/api/marketing/subscribe"): lambda w: {"email": "ada@example.com", "topics": ["technical"]},
    ("POST", "/api/marketing/unsubscribe"): lambda w: {},
    ("POST", "/api/dsar/export"): lambda w: {},
    ("POST", "/api/ai/chat"): lambda w: {"query": "How do I start a run?"},
    ("POST", "/api/ai/workflow"): lambda w: {"description": "Reply to each enquiry"},
    ("POST", "/api/ai/debug"): lambda w: {"error": "401 invalid_api_key"},
    ("POST", "/api/ai/onboarding"): lambda w: {},
}


# The Statuspage-compatible status API (/api/v1/) is strict too, in Statuspage's
# error format ({"error": "..."}) and with its own staff keys.
V1 = "/api/v1/pages/{page_id}"
V1_WRITES = {
    ("POST", V1 + "/incidents"): lambda w: {"incident": {"name": "Down", "body": "Looking."}},
    ("PATCH", V1 + "/components/{component_id}"): lambda w: {"component": {"status": "degraded_performance"}},
    ("PUT", V1 + "/components/{component_id}"): lambda w: {"component": {"status": "operational"}},
    ("PATCH", V1 + "/incidents/{incident_id}"): lambda w: {"incident": {"body": "Still looking."}},
    ("PUT", V1 + "/incidents/{incident_id}"): lambda w: {"incident": {"status": "monitoring"}},
    ("POST", V1 + "/subscribers"): lambda w: {"subscriber": {"email": "ops@example.com"}},
}
V1_LISTS = [V1 + "/incidents", V1 + "/subscribers"] + [
    V1 + f"/incidents/{kind}" for kind in ("unresolved", "scheduled", "upcoming", "active_maintenance")
]


@pytest.fixture
def status_world(client, staff):
    status_services.components_ensure()
    component = Component.objects.get(slug="web")
    incident = status_services.incident_create(name="Slow", impact="minor", body="Looking.", actor=staff)
    secret = status_services.status_api_key_create(name="CI", actor=staff).secret
    return {"component": component, "incident": incident, "secret": secret, "client": client}


def _v1_call(world, method: str, template: str, body=None, query=None):
    url = template.format(
        page_id=settings.LEVQOR_STATUS_PAGE_ID,
        component_id=world["component"].public_id,
        incident_id=world["incident"].public_id,
    )
    headers = {"Authorization": f"OAuth {world['secret']}"}
    if body is None:
        return world["client"].get(url, query or {}, headers=headers)
    return getattr(world["client"], method.lower())(url, body, content_type="application/json", headers=headers)


@pytest.mark.parametrize(("method", "template"), sorted(V1_WRITES))
def test_the_status_api_refuses_unknown_fields_naming_them_and_writes_nothing(status_world, method, template):
    body = V1_WRITES[(method, template)](status_world)
    (envelope,) = body
    before = AuditEvent.objects.exclude(action="status.api.called").count()
    for wrong, named in (
        ({**body, "colour": "red", "Notes": "x"}, "Notes, colour"),
        ({envelope: {**body[envelope], "colour": "red", "Notes": "x"}}, f"{envelope}.Notes, {envelope}.colour"),
    ):
        response = _v1_call(status_world, method, template, wrong)
        assert response.status_code == 400, response.content
        assert response.json()["error"].startswith(f"Received unknown fields: {named}. This endpoint takes: ")
        assert AuditEvent.objects.exclude(action="status.api.called").count() == before
    accepted = _v1_call(status_world, method, template, body)
    assert 200 <= accepted.status_code < 300, accepted.content


@pytest.mark.parametrize("template", V1_LISTS)
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": "0"}, "page: use a whole number from 1."),
        ({"page": "x"}, "page: use a whole number from 1."),
        ({"limit": "101"}, "limit: use a whole number from 1 to 100."),
        ({"limit": "-1"}, "limit: use a whole number from 1 to 100."),
    ],
)
def test_the_status_api_answers_a_bad_page_or_limit_with_a_400(status_world, template, query, message):
    if template.endswith("/subscribers") and "page" in query:
        # Statuspage counts subscriber pages from 0 (page × limit rows are skipped).
        if query["page"] == "0":
            assert _v1_call(status_world, "GET", template, query=query).status_code == 200
            query = {"page": "-1"}
        message = "page: use a whole number from 0."
    response = _v1_call(status_world, "GET", template, query=query)
    assert response.status_code == 400 and response.json() == {"error": message}
    assert _v1_call(status_world, "GET", template, query={"page": "1", "limit": "100"}).status_code == 200


def _call(client, world, method: str, template: str, body: dict):
    url = template.format(
        workflow_id=world["workflow"].pk, request_id=world["sla_request"].pk, ticket_id=world["ticket"].pk
    )
    if "/api/admin/" in template:
        client.force_login(world["staff"])
        return getattr(client, method.lower())(url, body, content_type="application/json")
    return getattr(world["key"], method.lower())(url, body)


def test_it_checks_every_write_operation_of_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    writes = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch")
    }
    assert writes == set(WRITES) | set(V1_WRITES)


@pytest.mark.parametrize(("method", "template"), sorted(WRITES))
def test_it_refuses_unknown_fields_naming_them_and_writes_nothing(client, world, method, template):
    body = WRITES[(method, template)](world)
    before = AuditEvent.objects.count()
    response = _call(client, world, method, template, {**body, "colour": "red", "Notes": "x"})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert error["details"]["unknown"] == ["Notes", "colour"]
    assert "Received unknown fields: Notes, colour." in error["message"]
    assert set(body) <= set(error["details"]["accepted"])
    assert error["details"]["fields"]["colour"] == ["Unknown field."]
    assert AuditEvent.objects.count() == before
    accepted = _call(client, world, method, template, body)
    assert 200 <= accepted.status_code < 300, accepted.content


def test_it_refuses_an_unknown_key_inside_a_workflow_step(world):
    steps = [{"type": "delay", "name": "wait", "seconds": 1, "url": "https://example.com"}]
    response = world["key"].post("/api/workflows", {"name": "Typo", "steps": steps})
    assert response.status_code == 400
    fields = response.json()["error"]["details"]["fields"]
    assert fields == {"steps.0.url": ["Unknown field for a delay step (it takes type, name, seconds)."]}


def test_it_refuses_the_period_field_of_the_other_period_kind(world):
    body = {"period_kind": "month", "month": _last_month(), "impact": "minor", "description": "Slow."}
    response = world["key"].post("/api/sla-credits/request", {**body, "incident_date": "2026-01-02"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"incident_date": ["Only with period_kind day."]}


@require_POST
def plain_view(request):
    raise AssertionError("not reached by GET")


urlpatterns = [path("api/test/plain", plain_view)]
handler404 = "levqor.lib.drf.errors.page_not_found"  # as levqor/urls.py: the branded page needs the project's URL names


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/nothing-here", 404),
        ("get", "/api/workflows/not-a-uuid", 404),
        ("post", "/api/v2/status.json", 405),
        ("put", "/api/status/health", 405),
    ],
)
def test_it_answers_api_404_and_405_in_json_whatever_debug(client, settings, debug, method, url, status):
    settings.DEBUG = debug
    response = getattr(client, method)(url)
    assert response.status_code == status and response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == {404: "not_found", 405: "method_not_allowed"}[status]
    assert "URLconf" not in response.content.decode()


@pytest.mark.parametrize("debug", [True, False])
def test_it_answers_a_plain_django_405_under_api_in_json(client, settings, debug):
    settings.DEBUG = debug
    settings.ROOT_URLCONF = __name__
    response = client.get("/api/test/plain")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
    unknown = client.get("/api/test/nothing")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


LISTS = [
    "/api/workflows",
    "/api/workflows/{workflow_id}/runs",
    "/api/runs/{run_id}/logs",
    "/api/sla-credits/my-requests",
    "/api/disputes/my",
    "/api/support/tickets",
    "/api/dsar/exports",
]


def _list_url(world, template: str) -> str:
    if "{run_id}" in template and "run" not in world:
        world["run"] = workflow_services.run_start(workflow=world["workflow"], payload={}, actor=None)
    return template.format(workflow_id=world["workflow"].pk, run_id=world.get("run") and world["run"].pk)


def test_it_checks_every_paginated_operation_of_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paginated = {
        path
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict) and any(p["name"] == "page" for p in operation.get("parameters", []))
    }
    assert paginated == {*LISTS, "/api/admin/sla-credits", *V1_LISTS}


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"page": "0"}, "page", "Use a whole number from 1."),
        ({"page": "-1"}, "page", "Use a whole number from 1."),
        ({"page": "abc"}, "page", "Use a whole number from 1."),
        ({"page": "last"}, "page", "Use a whole number from 1."),
        ({"page": "2"}, "page", "Page 2 is past the end: there are 1 page(s)."),
        ({"page_size": "0"}, "page_size", "Use a whole number from 1 to 200."),
        ({"page_size": "201"}, "page_size", "Use a whole number from 1 to 200."),
        ({"page_size": "x"}, "page_size", "Use a whole number from 1 to 200."),
    ],
)
def test_it_answers_a_bad_page_on_every_list_with_a_400(world, url, query, field, message):
    response = world["key"].get(_list_url(world, url), query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"]["fields"] == {field: [message]}


@pytest.mark.parametrize("url", LISTS)
def test_it_answers_page_one_of_any_list(world, url):
    assert world["key"].get(_list_url(world, url), {"page": "1", "page_size": "200"}).status_code == 200


def test_it_answers_a_bad_page_on_the_staff_list_with_a_400(staff_client):
    response = staff_client.get("/api/admin/sla-credits", {"page": "2"})
    assert response.status_code == 400 and "past the end" in response.json()["error"]["message"] + str(
        response.json()["error"]["details"]
    )


def test_it_answers_an_unknown_health_format_with_a_documented_400(client):
    response = client.get("/api/status/health", {"format": "AAA"})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["details"]["fields"] == {
        "format": ["Unknown format 'AAA': use one of json, health+json."]
    }
    ietf = client.get("/api/status/health", {"format": "health+json"})
    assert ietf.status_code in (200, 503) and ietf["Content-Type"] == "application/health+json"
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/status/health"]["get"]
    assert {"200", "503", "400"} <= set(operation["responses"])
    assert [p["schema"]["enum"] for p in operation["parameters"] if p["name"] == "format"] == [["health+json", "json"]]


def test_it_ignores_format_on_json_only_endpoints(world):
    assert world["key"].get("/api/workflows", {"format": "AAA"}).status_code == 200


def test_it_answers_json_whatever_the_accept_header(world):
    response = world["key"].get("/api/workflows", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_it_documents_every_request_body_as_closed_and_the_sla_periods_as_one_shape_each():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert len(bodies) == len(WRITES) + len(V1_WRITES) - 1  # the data export takes no body
    for name in bodies:
        for shape in components[name].get("oneOf", [components[name]]):
            assert shape["additionalProperties"] is False, name
    month, day = components["SlaCreditRequestCreateRequest"]["oneOf"]
    assert "incident_date" not in month["properties"] and "month" in month["required"]
    assert "month" not in day["properties"] and "incident_date" in day["required"]
    assert components["OptOutRequest"]["minProperties"] == 1


def test_it_answers_accept_terms_with_none_published_in_the_error_format(client, customer, customer_account):
    secret = api_key_create(account=customer_account, name="Live", mode=ApiKey.Mode.LIVE, actor=customer).secret
    response = ApiCaller(client, secret).post("/api/legal/accept-terms", {"version": "2026-11"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_terms_published"
    assert response.json()["error"]["correlation_id"] == response["X-Request-ID"]
