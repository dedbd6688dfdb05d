"""What /api-docs lists: every endpoint with a curl example. A test checks
each one against the generated OpenAPI schema, so the page cannot drift."""

from dataclasses import dataclass

WF = "3f1c9a9e-5a5b-4c1e-9a63-0c1d2e3f4a5b"
RUN = "8d2f7b1a-1c4e-4f8a-b5d6-9e0f1a2b3c4d"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as in the OpenAPI schema
    summary: str
    curl: str


def endpoints(base_url: str) -> list[Endpoint]:
    auth = '-H "X-Api-Key: $LEVQOR_API_KEY"'
    json = '-H "Content-Type: application/json"'
    return [
        Endpoint("GET", "/api/workflows", "List your workflows (paginated).", f"curl {auth} {base_url}/api/workflows"),
        Endpoint(
            "POST",
            "/api/workflows",
            "Create a workflow: name, steps and the JSON Schema its run payloads must satisfy.",
            f"curl {auth} {json} -X POST {base_url}/api/workflows \\\n"
            '  -d \'{"name": "Welcome email", '
            '"input_schema": {"type": "object", "required": ["email"], '
            '"properties": {"email": {"type": "string", "format": "email"}}}, '
            '"steps": [{"type": "transform", "name": "greet", "set": {"subject": "Welcome {{email}}"}}, '
            '{"type": "llm_mock", "name": "draft", "prompt": "Write a welcome note for {{email}}"}]}\'',
        ),
        Endpoint(
            "GET", "/api/workflows/{workflow_id}", "Read one workflow.", f"curl {auth} {base_url}/api/workflows/{WF}"
        ),
        Endpoint(
            "PATCH",
            "/api/workflows/{workflow_id}",
            "Change name, description, input_schema or steps.",
            f'curl {auth} {json} -X PATCH {base_url}/api/workflows/{WF} -d \'{{"name": "Welcome email v2"}}\'',
        ),
        Endpoint(
            "DELETE",
            "/api/workflows/{workflow_id}",
            "Delete a workflow; its runs stay readable.",
            f"curl {auth} -X DELETE {base_url}/api/workflows/{WF}",
        ),
        Endpoint(
            "POST",
            "/api/workflows/{workflow_id}/runs",
            "Start a run. The payload is validated against the workflow's input_schema.",
            f"curl {auth} {json} -X POST {base_url}/api/workflows/{WF}/runs "
            '-d \'{"payload": {"email": "ada@example.com"}}\'',
        ),
        Endpoint(
            "GET",
            "/api/workflows/{workflow_id}/runs",
            "List a workflow's runs, newest first.",
            f"curl {auth} {base_url}/api/workflows/{WF}/runs",
        ),
        Endpoint(
            "GET",
            "/api/runs/{run_id}",
            "Read a run: status (queued, running, succeeded, failed), output, cost and timings.",
            f"curl {auth} {base_url}/api/runs/{RUN}",
        ),
        Endpoint(
            "GET",
            "/api/runs/{run_id}/logs",
            "Read a run's log lines, oldest first (paginated).",
            f"curl {auth} '{base_url}/api/runs/{RUN}/logs?page=1&page_size=100'",
        ),
        Endpoint(
            "GET",
            "/api/sandbox/metrics",
            "Sandbox usage this month: calls, runs, durations and simulated cost.",
            f"curl {auth} {base_url}/api/sandbox/metrics",
        ),
    ]
