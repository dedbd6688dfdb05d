"""The one error format of every API response that is not a success:

    {"error": {"code": "...", "message": "...", "details": {...}, "correlation_id": "..."}}

DRF exceptions go through `exception_handler` (REST_FRAMEWORK's
EXCEPTION_HANDLER); Django's own 400/403/404/500 pages under `/api/` go through
the `handler*` views wired in levqor/urls.py. Never an HTML page or a trace.
The codes, with what each means, are listed in levqor.api.errors.ERROR_CODES.
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

from levqor.lib import correlation

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

_DRF_CODES = {"throttled": "rate_limited", "authentication_failed": "invalid_api_key", "invalid": "validation_error"}


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class ErrorWithDetails(exceptions.APIException):
    """An API error whose body carries `details` (set by the subclass)."""

    details: dict = {}


class UnknownField(ErrorWithDetails):
    """400: the body names fields the endpoint does not take (see levqor.lib.drf.serializers)."""

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


class TooManyRequests(ErrorWithDetails):
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
    if isinstance(exc, ErrorWithDetails):
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
    # Imported here: rest_framework.views imports the authentication classes
    # (levqor.api.authentication), which import this module back.
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
