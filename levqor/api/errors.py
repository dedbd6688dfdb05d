"""The API's error codes and its business errors. The error format, the
exception handler and the generic errors live in levqor.lib.drf.errors.
`ERROR_CODES` is the table `/api-docs` renders.
"""

from rest_framework import exceptions

from levqor.lib.drf.errors import ErrorWithDetails

# code → (HTTP status, when it happens). Rendered on /api-docs.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "validation_error": (400, "The body or query failed validation; details.fields maps each field to its messages."),
    "unknown_field": (
        400,
        "The body names a field this endpoint does not take (nothing was changed); details.unknown lists them, "
        "details.accepted the fields it takes.",
    ),
    "parse_error": (400, "The body is not valid JSON."),
    "bad_request": (400, "The request could not be understood."),
    "not_authenticated": (401, "No API key was sent (X-Api-Key or Authorization: Bearer)."),
    "invalid_api_key": (401, "The key is not one we issued."),
    "api_key_revoked": (401, "The key was revoked."),
    "api_key_expired": (401, "The key was rotated and its overlap window has ended: use the new key."),
    "account_paused": (402, "The account is paused for billing: reads work, changes and new runs do not."),
    "account_read_only": (403, "The account is canceled: reads work, changes and new runs do not."),
    "permission_denied": (403, "The key may not do this."),
    "not_found": (404, "No such resource for this key (other accounts' data and the other mode's data are invisible)."),
    "method_not_allowed": (405, "The path exists but not with this HTTP method."),
    "no_terms_published": (409, "There are no terms of service to accept yet."),
    "high_risk_data": (
        422,
        "The workflow or payload holds high-risk (medical, legal, financial) data; details give the reason, "
        "the findings and the appeal_url.",
    ),
    "payload_too_large": (413, "The body is larger than the server accepts (2.5 MB)."),
    "unsupported_media_type": (415, "Send bodies as Content-Type: application/json."),
    "rate_limited": (429, "Too many calls in a short window, per key or per IP; wait Retry-After seconds."),
    "dsar_too_soon": (429, "A data export was already requested in the last 30 days; the message gives the next date."),
    "quota_exceeded": (429, "The month's quota is used up; details.reset_at says when it resets."),
    "server_error": (500, "Something failed on our side; quote the correlation_id to support."),
}


class AccountPaused(exceptions.APIException):
    status_code = 402
    default_code = "account_paused"
    default_detail = "The account is paused for billing: it can read but not change anything or start runs."


class AccountReadOnly(exceptions.PermissionDenied):
    default_code = "account_read_only"
    default_detail = "The account is canceled: it can read but not change anything or start runs."


class HighRiskData(ErrorWithDetails):
    """422: screening refused the submission (see compliance.screening)."""

    status_code = 422
    default_code = "high_risk_data"

    def __init__(self, *, message: str, details: dict):
        super().__init__(message, self.default_code)
        self.details = details
