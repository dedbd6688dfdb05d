"""The OpenAPI document: valid, complete, true to /api-docs, served without a
CDN, and honoured by the running app (schemathesis)."""

import functools
import re
from datetime import UTC

import pytest
import schemathesis
import yaml
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from compliance import terms
from compliance.models import TermsVersion
from compliance.terms_first import first_text
from levqor.api import docs, quotas
from levqor.api.services import api_key_create
from levqor.api.testing import issue_key
from levqor.workflows import services as workflow_services
from levqor.workflows.models import Run
from status import services as status_services
from status.models import Component, Incident
from support import rules
from support import services as support_services
from support.models import Dispute

OUR_PATHS = {
    "/api/workflows",
    "/api/workflows/{workflow_id}",
    "/api/workflows/{workflow_id}/runs",
    "/api/runs/{run_id}",
    "/api/runs/{run_id}/logs",
    "/api/sandbox/metrics",
}


@pytest.fixture(scope="module")
def schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return generated


def test_it_generates_a_valid_openapi_3_document(schema):
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert OUR_PATHS <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "lvq_live_… or lvq_test_…",
    }
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    for path in OUR_PATHS:
        for method, operation in schema["paths"][path].items():
            assert operation["tags"], (method, path)
            assert "401" in operation["responses"] and "429" in operation["responses"], (method, path)
            assert operation["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}]


def test_it_lists_every_endpoint_the_docs_page_shows(schema):
    for endpoint in docs.endpoints("https://example.test"):
        assert endpoint.method.lower() in schema["paths"][endpoint.path], endpoint


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _operations(schema) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


@pytest.mark.django_db
def test_the_docs_page_shows_every_operation_in_the_schema(schema, client):
    page = client.get("/api-docs").content.decode()
    operations = _operations(schema)
    assert len(operations) > 30  # workflows, status, support, staff, DSAR, legal, GDPR, marketing
    missing = sorted(f"{method} {path}" for method, path in operations if f"<code>{method} {path}</code>" not in page)
    assert not missing, f"/api-docs (levqor/api/docs.py) does not document: {missing}"
    listed = [(endpoint.method, endpoint.path) for endpoint in docs.endpoints("https://example.test")]
    assert len(listed) == len(set(listed)) and set(listed) == operations


def _api_routes(resolver=None, prefix: str = ""):
    """Every route under the project's URLconf, as an OpenAPI path: `<uuid:run_id>` becomes `{run_id}`."""
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = entry.pattern
        route = str(pattern) if isinstance(pattern, RoutePattern) else None
        if isinstance(entry, URLResolver):
            if route is None:  # a regex include: only the admin's, nothing under api/
                assert not prefix.startswith("api/"), (prefix, pattern)
                continue
            yield from _api_routes(entry, prefix + route)
        elif isinstance(entry, URLPattern) and route is not None:
            yield entry, prefix + route


def test_every_api_route_has_a_schema_entry(schema):
    """A new endpoint under api/ without an OpenAPI operation fails here (and
    then the docs test above makes sure /api-docs shows it too)."""
    routes = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route): entry
        for entry, route in _api_routes()
        if route.startswith("api/") and not route.startswith("api/schema/")
    }
    assert {"/api/workflows/{workflow_id}", "/api/status/health", "/api/admin/sla-credits/{request_id}/decision"} <= (
        set(routes)
    )
    missing = sorted(path for path in routes if path not in schema["paths"])
    assert not missing, f"routes without an OpenAPI operation: {missing}"
    # And the other way: nothing in the schema that no route serves.
    assert set(schema["paths"]) == set(routes)


@pytest.mark.django_db
def test_it_serves_the_schema_and_both_uis_without_a_cdn(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert "/api/workflows" in yaml.safe_load(response.content)["paths"]
    assert client.get("/api/schema/", {"format": "json"}).json()["info"]["title"] == "Levqor API"
    for url in ("/api/schema/swagger-ui/", "/api/schema/redoc/"):
        page = client.get(url)
        html = page.content.decode()
        assert page.status_code == 200, url
        assert not re.search(r"(src|href)=\"(https?:)?//", html), f"{url} loads something from another host"
        assert "/static/drf_spectacular_sidecar/" in html
        assert "<script>" not in html  # no inline script: the CSP forbids it
    script = client.get("/api/schema/swagger-ui/", {"script": ""})
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


@pytest.fixture
def wsgi_in_test_transaction():
    """As Django's test client does: a finished request must not close the
    connection that holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def unlimited(settings, monkeypatch):
    settings.LEVQOR_API_BURST_PER_KEY = settings.LEVQOR_API_BURST_PER_IP = 1_000_000
    for plan in list(quotas.MONTHLY_QUOTAS):
        monkeypatch.setitem(quotas.MONTHLY_QUOTAS, plan, None)


def _workflow(account, *, sandbox: bool):
    workflow = workflow_services.workflow_create(
        account=account,
        sandbox=sandbox,
        name="Schemathesis",
        steps=[{"type": "transform", "name": "echo", "set": {"out": "{{text}}"}}],
        input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
        actor=None,
    )
    run = workflow_services.run_start(workflow=workflow, payload={"text": "hi"}, actor=None)
    return workflow, {"workflow_id": str(workflow.pk), "run_id": str(run.pk)}


# What a sandbox key cannot act on (levqor/api/docs.py: "Sandbox keys touch
# no real records: lists are empty and filing answers 403"): support, data
# requests, opt-out and terms; and the status API, which takes a Statuspage
# key. (Not marketing: its public subscribe form acts for anyone.)
SANDBOX_INERT_TAGS = frozenset({"support", "dsar", "gdpr", "legal", "status-manage"})


@pytest.mark.slow
@pytest.mark.xdist_group("schemathesis")
@pytest.mark.django_db
def test_it_passes_a_schemathesis_run_with_a_sandbox_key(customer_account, unlimited, wsgi_in_test_transaction):
    """Every key-authenticated and public operation: no 5xx, every status
    documented, every response matching its documented schema. A sandbox key
    touches no real records: the personal-data operations list nothing or
    answer 403 before reading the input, and the status API's (a Statuspage
    key, not ours) answer 401, so a few examples each show those answers are
    documented; the live-key and status-key runs below fuzz them for real."""
    secret = issue_key(customer_account, mode="test").secret
    workflow, known = _workflow(customer_account, sandbox=True)
    failures, operations = _run_schemathesis(
        {"headers": {"X-Api-Key": secret}}, known, staff=False, inert_tags=SANDBOX_INERT_TAGS
    )
    assert operations >= len(OUR_PATHS)
    assert not failures, "\n\n".join(failures)
    # Positive cases got through validation too, not only 4xx answers.
    assert Run.objects.filter(workflow=workflow).count() > 1


@pytest.mark.slow
@pytest.mark.xdist_group("schemathesis")
@pytest.mark.django_db
def test_it_passes_a_schemathesis_run_with_a_live_key_of_a_person(
    customer, customer_account, staff, unlimited, wsgi_in_test_transaction
):
    """A live key its account's person created: the support, data-request,
    terms and consent operations act for real records here. Only the
    operations that take our API key: the public ones and the status API's
    answer the same whichever key is sent, and the sandbox run above has
    fuzzed them with more examples."""
    secret = api_key_create(account=customer_account, name="Live", mode="live", actor=customer).secret
    version = TermsVersion.objects.create(
        version="2026-11", text=first_text(support_email="help@example.test"), changelog="First."
    )
    terms.terms_version_publish(version=version, actor=staff)
    workflow, known = _workflow(customer_account, sandbox=False)
    failures, operations = _run_schemathesis(
        {"headers": {"X-Api-Key": secret}}, known, staff=False, examples=10, keyed_only=True
    )
    assert operations >= len(OUR_PATHS)
    assert not failures, "\n\n".join(failures)
    # Generated writes got through, not only 4xx answers.
    assert Dispute.objects.filter(account=customer_account).exists()
    assert Run.objects.filter(workflow=workflow).count() > 1


@pytest.mark.slow
@pytest.mark.xdist_group("schemathesis")
@pytest.mark.django_db
def test_it_passes_a_schemathesis_run_with_a_staff_session(customer, staff, unlimited, wsgi_in_test_transaction):
    """The staff operations, called as the admin's session would (cookie and CSRF token)."""
    browser = Client()
    browser.force_login(staff)
    token = _get_new_csrf_string()
    auth = {
        "cookies": {
            settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value,
            settings.CSRF_COOKIE_NAME: token,
        },
        "headers": {"X-CSRFToken": token},
    }
    filed = support_services.sla_request_file(
        account=customer.account,
        user=customer,
        plan="growth",
        period=rules.month_period(rules.add_months(timezone.now().astimezone(UTC).date().replace(day=1), -1)),
        impact="major",
        description="Down.",
        actor=customer,
    )
    failures, operations = _run_schemathesis(auth, {"request_id": str(filed.pk)}, staff=True)
    assert operations == 2
    assert not failures, "\n\n".join(failures)
    filed.refresh_from_db()
    assert filed.status != "pending"  # some generated decision got through


@pytest.mark.slow
@pytest.mark.xdist_group("schemathesis")
@pytest.mark.django_db
def test_it_passes_a_schemathesis_run_with_a_status_api_key(staff, unlimited, settings, wsgi_in_test_transaction):
    """The Statuspage-compatible status API (/api/v1/), called with a staff
    status key (write scope) on real rows: no 5xx, every answer documented."""
    settings.LEVQOR_STATUS_API_RATE_LIMIT = 1_000_000
    status_services.components_ensure()
    incident = status_services.incident_create(name="Slow", impact="minor", body="Looking.", actor=staff)
    subscriber = status_services.subscriber_subscribe(email="ops@example.com")
    secret = status_services.status_api_key_create(name="Schemathesis", actor=staff).secret
    known = {
        "page_id": settings.LEVQOR_STATUS_PAGE_ID,
        "component_id": Component.objects.get(slug="web").public_id,
        "incident_id": incident.public_id,
        "subscriber_id": str(subscriber.pk),
    }
    auth = {"headers": {"Authorization": f"OAuth {secret}"}}
    failures, operations = _run_schemathesis(auth, known, staff=False, tag="status-manage", examples=10)
    assert operations == 20
    assert not failures, "\n\n".join(failures)
    assert Incident.objects.count() > 1  # generated incidents got through, not only 4xx answers


@functools.cache
def _loaded_schema():
    """The served document, loaded once per test process. Schemathesis keeps
    what it derives from each operation on the loaded schema (its
    strategies, canonical schemas and response validators: about a quarter
    of the CPU time of the first run, 0.1-0.2 s per schema); the four runs
    share them (they are one `xdist_group`, so one worker runs them all).
    Each run still draws its own examples, calls a fresh WSGI handler (so
    settings a test overrides are read as they are then) and checks every
    answer."""
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def _run_schemathesis(
    auth: dict,
    known: dict,
    *,
    staff: bool,
    examples: int = 25,
    tag: str | None = None,
    keyed_only: bool = False,
    inert_tags: frozenset[str] = frozenset(),
    inert_examples: int = 5,
) -> tuple[list[str], int]:
    """Fuzz the operations tagged `tag` (or, without one, the staff or the
    other operations). `keyed_only`: only those that take our API key.
    `inert_tags`: operations the credential cannot act on (every answer is a
    refusal or an empty list, whatever is sent) get `inert_examples`."""
    schema = _loaded_schema()
    schema.app = get_wsgi_application()
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = schema.raw_schema["paths"][operation.path][operation.method.lower()]
        tags = raw.get("tags", [])
        if (tag not in tags) if tag else (("support-staff" in tags) != staff):
            continue
        schemes = {name for requirement in raw.get("security") or [] for name in requirement}
        if keyed_only and "ApiKeyAuth" not in schemes:
            continue
        wanted = inert_examples if inert_tags & set(tags) else examples
        operations += 1
        names = {parameter.name for parameter in operation.path_parameters}
        documented = set(raw["responses"])
        variants = [None]
        if names & set(known) and operation.method.upper() != "DELETE":  # keep the known rows for the others
            variants.append({name: known[name] for name in names if name in known})
        for path_parameters in variants:
            modes = [(GenerationMode.POSITIVE, wanted)]
            if raw.get("parameters") or "requestBody" in raw:  # something to get wrong: a 4xx must be documented
                modes.append((GenerationMode.NEGATIVE, max(3, wanted // 5)))
            for mode, count in modes:
                strategy = operation.as_strategy(mode, path_parameters=path_parameters, **auth)
                try:
                    _checker(strategy, documented, count)()
                except Exception as exc:  # collect every operation's failure, then report them all
                    failures.append(f"{operation.label} {mode.value} {path_parameters or ''}: {exc}")
    return failures, operations


def _checker(strategy, documented: set[str], examples: int):
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case):
        response = case.call()
        status = response.status_code
        # A documented 5xx other than 500 is a designed answer (a health
        # check's 503), still checked against its schema.
        if status >= 500 and (status == 500 or str(status) not in documented):
            case.validate_response(response, checks=[not_a_server_error])
        case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])

    return check


def test_it_documents_the_limit_headers_on_metered_operations(schema):
    responses = schema["paths"]["/api/workflows"]["get"]["responses"]
    assert set(responses["200"]["headers"]) >= {"X-Quota-Remaining", "X-Quota-Reset", "X-RateLimit-Remaining"}
    assert "headers" not in responses["401"]


def test_it_generates_the_schema_without_warnings(tmp_path):
    """drf-spectacular's own check, as CI would run it: any endpoint it cannot
    describe (a missing serializer, an enum name clash) fails here."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/workflows" in (tmp_path / "schema.yaml").read_text()


def test_each_operation_of_a_shared_path_has_its_own_description(schema):
    """Redoc shows the description beside each operation: a class docstring
    shared by GET and POST would describe "Create a workflow" as a list."""
    for path, operations in schema["paths"].items():
        described = [op.get("description") for method, op in operations.items() if method != "parameters"]
        described = [text for text in described if text]
        assert len(described) == len(set(described)), path
    create = schema["paths"]["/api/workflows"]["post"]
    assert create["description"].startswith("Create a workflow") and "list" not in create["description"].lower()
