"""What /api-docs lists: every endpoint of the OpenAPI schema, grouped, each
with who may call it, a one-line purpose and a curl example. Tests check this
list against the generated schema in both directions (every operation is
here, and everything here is in the schema), and check that every `api/`
route is in the schema, so neither the page nor the schema can drift."""

from dataclasses import dataclass

from django.conf import settings

WF = "3f1c9a9e-5a5b-4c1e-9a63-0c1d2e3f4a5b"
RUN = "8d2f7b1a-1c4e-4f8a-b5d6-9e0f1a2b3c4d"
SLA_REQUEST = 42
COMPONENT = "qk867vbbh84x"
INCIDENT = "n4njzfn1mqy0"


@dataclass(frozen=True)
class Group:
    slug: str
    title: str
    intro: str


@dataclass(frozen=True)
class Endpoint:
    group: Group
    method: str
    path: str  # as in the OpenAPI schema
    auth: str
    summary: str
    curl: str


WORKFLOWS = Group(
    "workflows",
    "Workflows, runs and the sandbox",
    "A key only ever sees its own account's data, and only data of its own mode (a sandbox key sees sandbox "
    "workflows and runs): anything else is 404.",
)
STATUS = Group(
    "status",
    "Status and health",
    "Public: no key, no quota. Answers come from stored probe results, so monitors can poll them. The "
    "/api/v2/ endpoints follow the Statuspage v2 format and may be read from any origin.",
)
STATUS_MANAGE = Group(
    "status-manage",
    "Status API (Statuspage-compatible)",
    "Atlassian Statuspage's manage API v1, for Levqor staff: the same paths, bodies, objects and "
    "`Authorization: OAuth <key>` header (or ?api_key=), so Statuspage scripts and integrations work by changing "
    "the base URL (paths also answer with Statuspage's .json suffix; bodies may be JSON or its incident[name]=… "
    "form fields). Keys are staff status API keys (Admin → Status → Status API keys, or `manage.py "
    "status_api_key NAME`), scope read or write; customer API keys and sessions get 401, a read key writing gets "
    '403. Errors are Statuspage\'s {"error": "..."}; every call is audited. The page id is '
    "LEVQOR_STATUS_PAGE_ID (GET /api/v1/pages).",
)
SUPPORT = Group(
    "support",
    "Support tickets, SLA credits and disputes",
    "These act for the key's account and accept calls from a paused account too (you can always dispute a "
    "bill). Sandbox keys touch no real records: lists are empty and filing answers 403.",
)
STAFF = Group(
    "support-staff",
    "Support staff",
    "For Levqor staff only: they accept nothing but a signed-in, active staff session (with the CSRF token on "
    "POST). Any API key is refused with 403, even alongside a staff session.",
)
PRIVACY = Group(
    "privacy",
    "Your data, terms and consents",
    "Data exports, terms acceptance, objections to processing and marketing email. These belong to a person: "
    "call them from a signed-in session, or with an API key, which acts for the person who created it while "
    "they belong to the key's account (a key nobody on the account created gets 403; a sandbox key lists no "
    "exports and cannot request one).",
)

AI = Group(
    "ai",
    "AI assist",
    "Answers about using Levqor, workflow drafts, failure explanations and your next setup steps, as "
    "{answer, steps, meta}. Each call counts against your monthly quota; questions are screened for high-risk "
    "data (422 high_risk_data) and never stored, only their size. Answers come from Levqor's own documentation "
    "and your account's data; meta.provider says what answered (offline, or the configured model provider). "
    "A paused account may still ask.",
)
USAGE = Group(
    "usage",
    "Usage and metrics",
    "Calls used and left this month, per key and for the account. The app metrics are for Levqor staff: a "
    "signed-in staff session, or the operators' metrics token (LEVQOR_METRICS_TOKEN) as a bearer token; "
    "customer API keys are refused with 403. /metrics serves the same figures in Prometheus' text format "
    "(token only).",
)

GROUPS = [WORKFLOWS, AI, USAGE, STATUS, STATUS_MANAGE, SUPPORT, STAFF, PRIVACY]

KEY = "API key (sandbox or live)"
PUBLIC = "None (public)"
STAFF_SESSION = "Signed-in staff session only; API keys refused"
STATUS_KEY = "Staff status API key (Authorization: OAuth <key>); writes need scope write"
METRICS = "Signed-in staff session, or Authorization: Bearer <metrics token>; API keys refused"
PERSON = "Signed-in session, or an API key created by a person on the account"


def endpoints(base_url: str) -> list[Endpoint]:
    """Every endpoint, in page order (grouped, the groups in `GROUPS` order)."""
    auth = '-H "X-Api-Key: $LEVQOR_API_KEY"'
    json = '-H "Content-Type: application/json"'
    staff_cookie = '-b "sessionid=$LEVQOR_SESSION"'
    staff_csrf = (
        '-b "sessionid=$LEVQOR_SESSION; csrftoken=$LEVQOR_CSRF" -H "X-CSRFToken: $LEVQOR_CSRF" '
        f'-H "Referer: {base_url}/admin/"'
    )
    oauth = '-H "Authorization: OAuth $LEVQOR_STATUS_API_KEY"'
    v1 = f"{base_url}/api/v1/pages"
    page = f"{v1}/{settings.LEVQOR_STATUS_PAGE_ID}"
    found = [
        # --- Workflows, runs and the sandbox ------------------------------------------------
        Endpoint(
            WORKFLOWS,
            "GET",
            "/api/workflows",
            KEY,
            "List your workflows (paginated).",
            f"curl {auth} {base_url}/api/workflows",
        ),
        Endpoint(
            WORKFLOWS,
            "POST",
            "/api/workflows",
            KEY,
            "Create a workflow: name, steps and the JSON Schema its run payloads must satisfy.",
            f"curl {auth} {json} -X POST {base_url}/api/workflows \\\n"
            '  -d \'{"name": "Welcome email", '
            '"input_schema": {"type": "object", "required": ["email"], '
            '"properties": {"email": {"type": "string", "format": "email"}}}, '
            '"steps": [{"type": "transform", "name": "greet", "set": {"subject": "Welcome {{email}}"}}, '
            '{"type": "llm_mock", "name": "draft", "prompt": "Write a welcome note for {{email}}"}]}\'',
        ),
        Endpoint(
            WORKFLOWS,
            "GET",
            "/api/workflows/{workflow_id}",
            KEY,
            "Read one workflow.",
            f"curl {auth} {base_url}/api/workflows/{WF}",
        ),
        Endpoint(
            WORKFLOWS,
            "PATCH",
            "/api/workflows/{workflow_id}",
            KEY,
            "Change name, description, input_schema or steps.",
            f'curl {auth} {json} -X PATCH {base_url}/api/workflows/{WF} -d \'{{"name": "Welcome email v2"}}\'',
        ),
        Endpoint(
            WORKFLOWS,
            "DELETE",
            "/api/workflows/{workflow_id}",
            KEY,
            "Delete a workflow; its runs stay readable.",
            f"curl {auth} -X DELETE {base_url}/api/workflows/{WF}",
        ),
        Endpoint(
            WORKFLOWS,
            "POST",
            "/api/workflows/{workflow_id}/runs",
            KEY,
            "Start a run. The payload is validated against the workflow's input_schema.",
            f"curl {auth} {json} -X POST {base_url}/api/workflows/{WF}/runs "
            '-d \'{"payload": {"email": "ada@example.com"}}\'',
        ),
        Endpoint(
            WORKFLOWS,
            "GET",
            "/api/workflows/{workflow_id}/runs",
            KEY,
            "List a workflow's runs, newest first.",
            f"curl {auth} {base_url}/api/workflows/{WF}/runs",
        ),
        Endpoint(
            WORKFLOWS,
            "GET",
            "/api/runs/{run_id}",
            KEY,
            "Read a run: status (queued, running, succeeded, failed), output, cost and timings.",
            f"curl {auth} {base_url}/api/runs/{RUN}",
        ),
        Endpoint(
            WORKFLOWS,
            "GET",
            "/api/runs/{run_id}/logs",
            KEY,
            "Read a run's log lines, oldest first (paginated).",
            f"curl {auth} '{base_url}/api/runs/{RUN}/logs?page=1&page_size=100'",
        ),
        Endpoint(
            WORKFLOWS,
            "GET",
            "/api/sandbox/metrics",
            KEY,
            "Sandbox usage this month: calls, runs, durations and simulated cost.",
            f"curl {auth} {base_url}/api/sandbox/metrics",
        ),
        # --- Status and health ---------------------------------------------------------------
        Endpoint(
            STATUS,
            "GET",
            "/api/status/health",
            PUBLIC,
            "Health of each component, from stored probe results: 200 when the service is ok, 503 when it is not "
            "(a component in outage). Send Accept: application/health+json (or ?format=health%2Bjson) for the "
            "IETF health check format (pass, warn or fail); any other format is a 400.",
            f"curl {base_url}/api/status/health\n"
            f'curl -H "Accept: application/health+json" {base_url}/api/status/health',
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/summary.json",
            PUBLIC,
            "Everything at once: page status, components, unresolved incidents, upcoming and active maintenance.",
            f"curl {base_url}/api/v2/summary.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/status.json",
            PUBLIC,
            "The page's overall indicator and its description.",
            f"curl {base_url}/api/v2/status.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/components.json",
            PUBLIC,
            "Every visible component and its current status.",
            f"curl {base_url}/api/v2/components.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/incidents.json",
            PUBLIC,
            "The 50 most recent incidents, newest first, resolved or not, with their updates.",
            f"curl {base_url}/api/v2/incidents.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/incidents/unresolved.json",
            PUBLIC,
            "Incidents not yet resolved (investigating, identified or monitoring).",
            f"curl {base_url}/api/v2/incidents/unresolved.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/scheduled-maintenances.json",
            PUBLIC,
            "The 50 most recent scheduled maintenances: past, active and upcoming.",
            f"curl {base_url}/api/v2/scheduled-maintenances.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/scheduled-maintenances/upcoming.json",
            PUBLIC,
            "Maintenance that has not started yet.",
            f"curl {base_url}/api/v2/scheduled-maintenances/upcoming.json",
        ),
        Endpoint(
            STATUS,
            "GET",
            "/api/v2/scheduled-maintenances/active.json",
            PUBLIC,
            "Maintenance in progress or being verified.",
            f"curl {base_url}/api/v2/scheduled-maintenances/active.json",
        ),
        # --- Status API (Statuspage-compatible manage API v1) ------------------------------
        Endpoint(STATUS_MANAGE, "GET", "/api/v1/pages", STATUS_KEY, "The one status page.", f"curl {oauth} {v1}"),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}",
            STATUS_KEY,
            "The status page (Statuspage's page object).",
            f"curl {oauth} {page}",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/components",
            STATUS_KEY,
            "Every component with its evaluated status (groups and hidden ones too).",
            f"curl {oauth} {page}/components",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/components/{component_id}",
            STATUS_KEY,
            "One component.",
            f"curl {oauth} {page}/components/{COMPONENT}",
        ),
        Endpoint(
            STATUS_MANAGE,
            "PATCH",
            "/api/v1/pages/{page_id}/components/{component_id}",
            STATUS_KEY,
            "Set a component's status (shown as the worse of it and the probe; operational clears it), name or "
            "description.",
            f"curl {oauth} {json} -X PATCH {page}/components/{COMPONENT} "
            '-d \'{"component": {"status": "degraded_performance"}}\'',
        ),
        Endpoint(
            STATUS_MANAGE,
            "PUT",
            "/api/v1/pages/{page_id}/components/{component_id}",
            STATUS_KEY,
            "The same as PATCH (as in Statuspage).",
            f"curl {oauth} {json} -X PUT {page}/components/{COMPONENT} "
            '-d \'{"component": {"status": "operational"}}\'',
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/incidents",
            STATUS_KEY,
            "Every incident and scheduled maintenance, newest first (q, limit, page).",
            f"curl {oauth} '{page}/incidents?limit=20'",
        ),
        Endpoint(
            STATUS_MANAGE,
            "POST",
            "/api/v1/pages/{page_id}/incidents",
            STATUS_KEY,
            "Create an incident (name, status, body, components {id: status}, component_ids, impact_override, "
            "deliver_notifications), or scheduled maintenance with status scheduled, scheduled_for and "
            "scheduled_until.",
            f"curl {oauth} {json} -X POST {page}/incidents \\\n"
            '  -d \'{"incident": {"name": "Elevated API errors", "status": "investigating", '
            '"body": "We are looking into it.", "components": {"' + COMPONENT + '": "partial_outage"}}}\'',
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/incidents/unresolved",
            STATUS_KEY,
            "Incidents investigating, identified or monitoring.",
            f"curl {oauth} {page}/incidents/unresolved",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/incidents/scheduled",
            STATUS_KEY,
            "Every scheduled maintenance.",
            f"curl {oauth} {page}/incidents/scheduled",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/incidents/upcoming",
            STATUS_KEY,
            "Scheduled maintenance not started yet, soonest first.",
            f"curl {oauth} {page}/incidents/upcoming",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/incidents/active_maintenance",
            STATUS_KEY,
            "Maintenance in progress or being verified.",
            f"curl {oauth} {page}/incidents/active_maintenance",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/incidents/{incident_id}",
            STATUS_KEY,
            "One incident or scheduled maintenance.",
            f"curl {oauth} {page}/incidents/{INCIDENT}",
        ),
        Endpoint(
            STATUS_MANAGE,
            "PATCH",
            "/api/v1/pages/{page_id}/incidents/{incident_id}",
            STATUS_KEY,
            "Post an update (status and/or body; resolved resolves it), change component impacts, name or "
            "impact; on a maintenance, its window or its next status.",
            f"curl {oauth} {json} -X PATCH {page}/incidents/{INCIDENT} "
            '-d \'{"incident": {"status": "resolved", "body": "Fixed."}}\'',
        ),
        Endpoint(
            STATUS_MANAGE,
            "PUT",
            "/api/v1/pages/{page_id}/incidents/{incident_id}",
            STATUS_KEY,
            "The same as PATCH (as in Statuspage).",
            f'curl {oauth} {json} -X PUT {page}/incidents/{INCIDENT} -d \'{{"incident": {{"status": "monitoring"}}}}\'',
        ),
        Endpoint(
            STATUS_MANAGE,
            "DELETE",
            "/api/v1/pages/{page_id}/incidents/{incident_id}",
            STATUS_KEY,
            "Delete an incident or maintenance with its updates.",
            f"curl {oauth} -X DELETE {page}/incidents/{INCIDENT}",
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/subscribers",
            STATUS_KEY,
            "Email subscribers (state: active by default, unconfirmed, unsubscribed or all).",
            f"curl {oauth} '{page}/subscribers?state=all'",
        ),
        Endpoint(
            STATUS_MANAGE,
            "POST",
            "/api/v1/pages/{page_id}/subscribers",
            STATUS_KEY,
            "Add an email subscriber; they confirm by email before they are sent anything.",
            f'curl {oauth} {json} -X POST {page}/subscribers -d \'{{"subscriber": {{"email": "ops@example.com"}}}}\'',
        ),
        Endpoint(
            STATUS_MANAGE,
            "GET",
            "/api/v1/pages/{page_id}/subscribers/{subscriber_id}",
            STATUS_KEY,
            "One subscriber.",
            f"curl {oauth} {page}/subscribers/42",
        ),
        Endpoint(
            STATUS_MANAGE,
            "DELETE",
            "/api/v1/pages/{page_id}/subscribers/{subscriber_id}",
            STATUS_KEY,
            "Unsubscribe a subscriber.",
            f"curl {oauth} -X DELETE {page}/subscribers/42",
        ),
        # --- SLA credits and disputes -----------------------------------------------------
        Endpoint(
            SUPPORT,
            "POST",
            "/api/sla-credits/request",
            "Live API key",
            "File an SLA credit request for a month (month: YYYY-MM) or a day (incident_date); we compute and "
            "store the downtime we measured for that period.",
            f"curl {auth} {json} -X POST {base_url}/api/sla-credits/request \\\n"
            '  -d \'{"period_kind": "month", "month": "2026-10", "impact": "major", '
            '"description": "Runs stayed queued for three hours on 14 October."}\'',
        ),
        Endpoint(
            SUPPORT,
            "GET",
            "/api/sla-credits/my-requests",
            KEY,
            "Your account's SLA credit requests, newest first, with status and decision (paginated).",
            f"curl {auth} {base_url}/api/sla-credits/my-requests",
        ),
        Endpoint(
            SUPPORT,
            "POST",
            "/api/disputes",
            "Live API key",
            "Open a dispute (category billing, service-quality, security or other); support is told at once.",
            f"curl {auth} {json} -X POST {base_url}/api/disputes \\\n"
            '  -d \'{"category": "billing", "subject": "Charged twice in October", '
            '"description": "Invoice INV-0042 was paid twice on 3 October."}\'',
        ),
        Endpoint(
            SUPPORT,
            "GET",
            "/api/disputes/my",
            KEY,
            "Your account's disputes, newest first, with status, resolution notes and our replies (paginated).",
            f"curl {auth} {base_url}/api/disputes/my",
        ),
        Endpoint(
            SUPPORT,
            "POST",
            "/api/support/tickets",
            "Live API key",
            "Open a support ticket (subject, body). first_response_due_at is the opening time plus your plan's "
            "first-response hours (see /pricing); support and your account are emailed.",
            f"curl {auth} {json} -X POST {base_url}/api/support/tickets \\\n"
            '  -d \'{"subject": "Run stuck in queued", "body": "Run 812 has been queued since 09:10."}\'',
        ),
        Endpoint(
            SUPPORT,
            "GET",
            "/api/support/tickets",
            KEY,
            "Your account's tickets, newest first, each with its thread and first-response times (paginated).",
            f"curl {auth} {base_url}/api/support/tickets",
        ),
        Endpoint(
            SUPPORT,
            "GET",
            "/api/support/tickets/{ticket_id}",
            KEY,
            "One of your tickets with its thread; another account's ticket is 404.",
            f"curl {auth} {base_url}/api/support/tickets/41",
        ),
        Endpoint(
            SUPPORT,
            "POST",
            "/api/support/tickets/{ticket_id}",
            "Live API key",
            "Add a message (body) to one of your tickets; a ticket waiting on you or resolved opens again, a closed "
            "one answers 400.",
            f"curl {auth} {json} -X POST {base_url}/api/support/tickets/41 \\\n"
            '  -d \'{"body": "It is running again, thank you."}\'',
        ),
        # --- AI assist --------------------------------------------------------------------------------
        Endpoint(
            AI,
            "POST",
            "/api/ai/chat",
            KEY,
            "Ask a question about using Levqor; optional context object.",
            f"curl {auth} {json} -X POST {base_url}/api/ai/chat \\\n"
            '  -d \'{"query": "How do I rotate an API key?", "context": {"page": "/account/api-keys"}}\'',
        ),
        Endpoint(
            AI,
            "POST",
            "/api/ai/workflow",
            KEY,
            "Draft a workflow from a description. The draft passes POST /api/workflows's checks and is never saved.",
            f"curl {auth} {json} -X POST {base_url}/api/ai/workflow \\\n"
            '  -d \'{"description": "Summarise each customer enquiry and post it to our CRM webhook"}\'',
        ),
        Endpoint(
            AI,
            "POST",
            "/api/ai/debug",
            KEY,
            "Likely cause and next steps for a failed run (run_id) or an error message (error, context).",
            f'curl {auth} {json} -X POST {base_url}/api/ai/debug -d \'{{"run_id": "{RUN}"}}\'',
        ),
        Endpoint(
            AI,
            "POST",
            "/api/ai/onboarding",
            KEY,
            "Your account's next setup steps, from its keys, workflows, runs, billing state and usage.",
            f"curl {auth} -X POST {base_url}/api/ai/onboarding",
        ),
        # --- Usage and metrics ---------------------------------------------------------------------
        Endpoint(
            USAGE,
            "GET",
            "/api/usage",
            KEY,
            "Calls used and left this month for the account (live and sandbox) and per key, the reset time, and "
            "each day's calls.",
            f"curl {auth} {base_url}/api/usage",
        ),
        Endpoint(
            USAGE,
            "GET",
            "/api/metrics/app",
            METRICS,
            "Status, uptime, assistant calls and 5xx errors in the last 5 minutes (all web processes), task "
            "queue depth, failed tasks and backlogs (dunning due, data requests open, deadlines near breach).",
            f'curl -H "Authorization: Bearer $LEVQOR_METRICS_TOKEN" {base_url}/api/metrics/app',
        ),
        # --- Support staff ------------------------------------------------------------------------
        Endpoint(
            STAFF,
            "GET",
            "/api/admin/sla-credits",
            STAFF_SESSION,
            "The SLA credit queue, oldest first, with claimed and measured downtime and the suggested credit; "
            "filter with ?status= (needs-attention, pending, needs-more-info, approved, rejected).",
            f"curl {staff_cookie} '{base_url}/api/admin/sla-credits?status=needs-attention'",
        ),
        Endpoint(
            STAFF,
            "POST",
            "/api/admin/sla-credits/{request_id}/decision",
            "Signed-in staff session only, with its CSRF token; API keys refused",
            "Decide a request: status (approved, rejected or needs-more-info), credit_amount in pounds (only "
            "with approved; capped at one month's fee), currency (optional, GBP only), notes to the customer and "
            "internal_notes. credit_amount_minor (pence), credit_currency and notes_to_customer are accepted as "
            "aliases. An approved credit is applied to the customer's Stripe balance once, and the customer is "
            "emailed the decision.",
            f"curl {staff_csrf} {json} \\\n"
            f"  -X POST {base_url}/api/admin/sla-credits/{SLA_REQUEST}/decision \\\n"
            '  -d \'{"status": "approved", "credit_amount": 14.90, "currency": "GBP", '
            '"notes": "Credited £14.90 for the October outage."}\'',
        ),
        # --- Your data, terms and consents -----------------------------------------------------
        Endpoint(
            PRIVACY,
            "POST",
            "/api/dsar/export",
            "Signed-in session, or a live API key (acts for the person who created the key)",
            "Request an export of your personal data, at most once every 30 days (429 dsar_too_soon otherwise); "
            "a signed download link is emailed.",
            f"curl {auth} -X POST {base_url}/api/dsar/export",
        ),
        Endpoint(
            PRIVACY,
            "GET",
            "/api/dsar/exports",
            "Signed-in session, or an API key (acts for the person who created it; a sandbox key lists nothing)",
            "Your data exports, newest first, with the download link while it is valid.",
            f"curl {auth} {base_url}/api/dsar/exports",
        ),
        Endpoint(
            PRIVACY,
            "GET",
            "/api/legal/acceptance",
            PERSON,
            "Which terms of service version is current (its permanent page and the SHA-256 of its text), "
            "whether you accepted it, and your acceptance history.",
            f"curl {auth} {base_url}/api/legal/acceptance",
        ),
        Endpoint(
            PRIVACY,
            "POST",
            "/api/legal/accept-terms",
            PERSON,
            "Accept the current terms of service: send its version (201 accepted, 200 if you already had; 409 "
            "no_terms_published while there are none).",
            f'curl {auth} {json} -X POST {base_url}/api/legal/accept-terms -d \'{{"version": "2026-12"}}\'',
        ),
        Endpoint(
            PRIVACY,
            "GET",
            "/api/gdpr/opt-out",
            PERSON,
            "Your objections to processing: marketing, profiling, automation and analytics.",
            f"curl {auth} {base_url}/api/gdpr/opt-out",
        ),
        Endpoint(
            PRIVACY,
            "POST",
            "/api/gdpr/opt-out",
            PERSON,
            "Object to (true) or allow again (false) any of those kinds of processing.",
            f'curl {auth} {json} -X POST {base_url}/api/gdpr/opt-out -d \'{{"marketing": true, "profiling": true}}\'',
        ),
        Endpoint(
            PRIVACY,
            "POST",
            "/api/marketing/subscribe",
            "None (public; 10 requests per 10 minutes per IP address)",
            "Ask for marketing email (double opt-in): we only send a confirmation link, and answer the same "
            "whether or not the address is already subscribed. Name the topics the person chose (at least one; "
            "none is chosen for them).",
            f"curl {json} -X POST {base_url}/api/marketing/subscribe \\\n"
            '  -d \'{"email": "ada@example.com", "topics": ["product_updates", "technical"]}\'',
        ),
        Endpoint(
            PRIVACY,
            "GET",
            "/api/marketing/status",
            PERSON,
            "The marketing email your address gets: subscription (none, pending, confirmed, unsubscribed), topics, "
            "whether you objected to direct marketing, and whether any marketing reaches you.",
            f"curl {auth} {base_url}/api/marketing/status",
        ),
        Endpoint(
            PRIVACY,
            "POST",
            "/api/marketing/unsubscribe",
            PERSON,
            "Stop all marketing email to your address at once (emails a confirmation; safe to repeat). No body.",
            f"curl {auth} -X POST {base_url}/api/marketing/unsubscribe",
        ),
    ]
    order = {group: index for index, group in enumerate(GROUPS)}
    return sorted(found, key=lambda endpoint: order[endpoint.group])  # stable: keeps order within a group
