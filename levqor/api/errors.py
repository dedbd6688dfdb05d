"""The one error format of every API response that is not a success:

    {"error": {"code": "...", "message": "...", "details": {...}, "correlation_id": "..."}}

DRF exceptions go through `exception_handler` (REST_FRAMEWORK's
EXCEPTION_HANDLER); Django's own 400/403/404/500 pages under `/api/` go through
the `handler*` views wired in levqor/urls.py. Never an HTML page or a trace.
`ERROR_CODES` is the table `/api-docs` renders.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from levqor import correlation

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

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

_DRF_CODES = {"throttled": "rate_limited", "authentication_failed": "invalid_api_key", "invalid": "validation_error"}


class AccountPaused(exceptions.APIException):
    status_code = 402
    default_code = "account_paused"
    default_detail = "The account is paused for billing: it can read but not change anything or start runs."


class AccountReadOnly(exceptions.PermissionDenied):
    default_code = "account_read_only"
    default_detail = "The account is canceled: it can read but not change anything or start runs."


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class HighRiskData(exceptions.APIException):
    """422: screening refused the submission (see compliance.screening)."""

    status_code = 422
    default_code = "high_risk_data"

    def __init__(self, *, message: str, details: dict):
        super().__init__(message, self.default_code)
        self.details = details


class UnknownField(exceptions.APIException):
    """400: the body names fields the endpoint does not take (see levqor.api.serializers)."""

    status_code = 400
    default_code = "unknown_field"

    def __init__(self, *, unknown: list[str], accepted: list[str]):
        plural = "s" if len(unknown) > 1 else ""
        takes = ", ".join(accepted) if accepted else "no body"
        super().__init__(f"Received unknown field{plural}: {', '.join(unknown)}. This endpoint takes: {takes}.")
        self.details = {
            "unknown": unknown,
            "accepted": accepted,
            "fields": {name: ["Unknown field."] for name in unknown},
        }


class TooManyRequests(exceptions.APIException):
    """429 with the reset time in the body and Retry-After (DRF's handler
    sets the header from `wait`)."""

    status_code = 429
    default_code = "rate_limited"

    def __init__(self, *, message: str, code: str, wait: int, details: dict):
        super().__init__(message, code)
        self.wait = max(1, int(wait))
        self.details = details


def envelope(code: str, message: str, details: dict | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "correlation_id": correlation.get(),
        }
    }


def flatten_errors(data, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as {"dotted.path": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and any(isinstance(item, dict | list) for item in data):
        for index, value in enumerate(data):
            out.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    elif isinstance(data, list):
        if data:
            out[prefix or "non_field_errors"] = [str(item) for item in data]
    else:
        out[prefix or "non_field_errors"] = [str(data)]
    return out


def _from_django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError({field: messages for field, messages in exc.message_dict.items()})
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def _describe(exc: exceptions.APIException, data) -> tuple[str, str, dict]:
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(data)
        names = ", ".join(sorted(fields)[:5])
        return "validation_error", f"The request is invalid ({names}): see details.fields.", {"fields": fields}
    if isinstance(exc, TooManyRequests | HighRiskData | UnknownField):
        return exc.get_codes(), str(exc.detail), exc.details
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        return "rate_limited", "Too many requests.", {"retry_after": wait}
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    code = _DRF_CODES.get(code, code)
    return code, str(exc.detail), {}


def exception_handler(exc, context):
    """REST_FRAMEWORK's EXCEPTION_HANDLER: every DRF view's errors, one format."""
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request could not be understood.", code="bad_request")
    # Imported here: rest_framework.views imports the authentication classes,
    # which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an API exception: a bug. Log it with its trace; the caller gets
        # the correlation id to quote, never the trace.
        logger.exception("unhandled API error", exc_info=exc)
        return Response(envelope("server_error", "Internal server error."), status=500)
    code, message, details = _describe(exc, response.data)
    response.data = envelope(code, message, details)
    return response


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse(envelope(code, message, details), status=status)


def bad_request(request, exception, template_name="400.html"):
    if is_api_request(request):
        return _json(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception, template_name="403.html"):
    if is_api_request(request):
        return _json(403, "permission_denied", "Permission denied.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception, template_name="404.html"):
    if is_api_request(request):
        return _json(404, "not_found", "No API endpoint or resource at this path.", {"path": request.path})
    return defaults.page_not_found(request, exception)


def server_error(request, template_name="500.html"):
    if is_api_request(request):
        return _json(500, "server_error", "Internal server error.")
    return defaults.server_error(request)


# --- OpenAPI description of the error body ---------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable code (see /api-docs#errors).")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.DictField(help_text="More about it: `fields` for validation errors, limits for 429.")
    correlation_id = serializers.CharField(help_text="Quote it to support; also in the X-Request-ID header.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_STATUS_TEXT = {
    400: "Invalid request: see error.details.fields",
    401: "Missing, unknown, revoked or expired API key",
    402: "Account paused for billing (read-only)",
    403: "Not allowed (e.g. a canceled account)",
    404: "Not found for this key",
    405: "Method not allowed",
    413: "Body too large",
    422: "High-risk data refused (see error.details.appeal_url)",
    415: "Unsupported media type",
    429: "Burst limit or monthly quota reached (Retry-After header)",
    500: "Server error",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses=...)`; 401, 429 and 500
    are on every authenticated endpoint, so always included."""
    wanted = sorted({*statuses, 401, 429, 500})
    return {status: OpenApiResponse(ErrorSerializer, description=_STATUS_TEXT[status]) for status in wanted}
