"""OpenAPI pieces drf-spectacular cannot guess: the API-key security scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "levqor.api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyAuth", "BearerAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKeyAuth": []}, {"BearerAuth": []}]  # either one

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "lvq_live_… or lvq_test_…"},
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
        ]


_LIMIT_HEADERS = {
    "X-Quota-Limit": "Calls allowed this month, or `unlimited`.",
    "X-Quota-Remaining": "Calls left this month, or `unlimited`.",
    "X-Quota-Reset": "When the monthly quota resets (UTC, ISO 8601).",
    "X-RateLimit-Limit": "Burst allowance of the key per window.",
    "X-RateLimit-Remaining": "Calls left in the current burst window.",
    "X-RateLimit-Reset": "Seconds until the oldest counted call leaves the sliding burst window.",
}


def add_limit_headers(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the quota and burst
    headers on every response of every key-authenticated operation."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or {"ApiKeyAuth": []} not in operation.get("security", []):
                continue
            for status, response in operation.get("responses", {}).items():
                if status == "401":
                    continue  # no key, nothing metered
                headers = response.setdefault("headers", {})
                for name, description in _LIMIT_HEADERS.items():
                    headers.setdefault(name, {"schema": {"type": "string"}, "description": description})
    return result


_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def add_input_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: the errors every operation of a
    kind can answer, documented once. A paginated list answers 400 for a bad
    `page`/`page_size`; an operation with a body answers 400 (validation or
    `unknown_field`), 413 (too large) and 415 (not JSON)."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            names = {parameter.get("name") for parameter in operation.get("parameters", [])}
            if "page" in names:
                responses.setdefault(
                    "400", {"description": "Invalid request: see error.details.fields", "content": _ERROR_REF}
                )
                responses["400"]["description"] += " (including a `page` past the end, or a bad `page_size`)"
            if "requestBody" in operation:
                described = "Invalid body, or a field it does not take (`unknown_field`)"
                responses.setdefault("400", {"description": described, "content": _ERROR_REF})
                responses.setdefault("413", {"description": "The body is too large", "content": _ERROR_REF})
                responses.setdefault("415", {"description": "The body is not JSON", "content": _ERROR_REF})
    return result
