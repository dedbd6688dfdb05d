"""The public status API: health (two formats) and the Statuspage v2 read API.

Public on purpose: no authentication, no permission, no throttle (set
explicitly so the project's API defaults never apply), and every answer is
read from stored results.
"""

import functools
import json
import time

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAcceptable
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from levqor.lib.drf.errors import ErrorSerializer
from levqor.lib.drf.negotiation import ApiContentNegotiation
from levqor.lib.http import LeanResponse, header_entries, headers_add

from . import cache_keys, formats, selectors, serializers
from .models import MaintenanceStatus
from .services import oncall


class HealthJSONRenderer(JSONRenderer):
    media_type = "application/health+json"
    format = "health+json"


class LenientNegotiation(ApiContentNegotiation):
    """Monitors send all sorts of Accept headers: answer JSON rather than 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class PublicStatusApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = LenientNegotiation


HEALTH_DESCRIPTION = (
    "The health of each public component, judged exactly as /status and the v2 API judge it (latest stored probe "
    "results, published incidents, maintenance in progress): HTTP 503 with `ok: false` whenever a component is in "
    "partial or major outage (probed or declared) or an incident of major or critical impact is open; 200 "
    "otherwise (degraded performance or maintenance: health+json `warn`). When the newest probe results are "
    "older than two probe intervals, monitoring is stale and the task queue reads as down (503). "
    "`Accept: application/health+json` (at least as preferred as `application/json`) returns the IETF health "
    "check draft format (`status` pass/warn/fail, `checks` keyed `component:measurement`). Never runs a probe. "
    "For load-balancer liveness use `/-/ping`."
)


class StatusHealthApi(PublicStatusApi):
    renderer_classes = [JSONRenderer, HealthJSONRenderer]
    parser_classes = []

    def perform_content_negotiation(self, request, force=False):
        # ?format= is DRF's business. Otherwise decide from Accept here:
        # DRF orders media types of equal precedence as a set, so
        # "application/json, application/health+json" picked either one at
        # random. The health format wins when the client names it with a
        # quality at least that of plain JSON; JSON is the default.
        if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE):
            return super().perform_content_negotiation(request, force)
        renderer = HealthJSONRenderer if prefers_health_json(request.META.get("HTTP_ACCEPT", "")) else JSONRenderer
        return renderer(), renderer.media_type

    @extend_schema(
        operation_id="status_health",
        tags=["status"],
        auth=[],
        description=HEALTH_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["json", "health+json"],
                description="Instead of the Accept header: `json` or `health+json` (URL-encoded `health%2Bjson`). "
                "Anything else is a 400.",
            )
        ],
        responses={
            (200, "application/json"): serializers.HealthSerializer,
            (503, "application/json"): serializers.HealthSerializer,
            (200, "application/health+json"): serializers.HealthIetfSerializer,
            (503, "application/health+json"): serializers.HealthIetfSerializer,
            (400, "application/json"): OpenApiResponse(
                ErrorSerializer, description="An unknown `format` (`validation_error`)."
            ),
            (500, "application/json"): OpenApiResponse(ErrorSerializer, description="Server error"),
        },
    )
    def get(self, request):
        media_type = request.accepted_renderer.media_type
        status, body = health_document(media_type)
        response = HttpResponse(body, status=status, content_type=media_type)
        response["Cache-Control"] = "no-store"
        return response


def _health_view():
    """GET /api/status/health without DRF's dispatch when there is nothing
    for DRF to decide: no `?format=` (whose unknown values DRF answers with
    a 400). The media type comes from Accept exactly as
    `StatusHealthApi.perform_content_negotiation` picks it, and the answer
    carries the headers DRF adds (`Allow`, `Vary: Accept`): the same bytes
    for the monitors that poll it (status/tests compare the two). Any query
    string (`?format=`) goes to DRF."""
    drf_view = StatusHealthApi.as_view()
    view = StatusHealthApi()
    view.head = view.get  # as Django's View.setup() does for each request
    headers = header_entries(("Cache-Control", "no-store"), *view.default_response_headers.items())

    @functools.wraps(drf_view)
    def health(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or request.META.get("QUERY_STRING"):
            return drf_view(request, *args, **kwargs)
        plain = not prefers_health_json(request.META.get("HTTP_ACCEPT", ""))
        media_type = JSONRenderer.media_type if plain else HealthJSONRenderer.media_type
        status, body = health_document(media_type)
        response = LeanResponse(body, status=status, content_type=media_type)
        headers_add(response, headers, replace=True)
        return response

    return health


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def prefers_health_json(accept: str) -> bool:
    """Whether an Accept header asks for application/health+json at least
    as much as for application/json (RFC 9110: the most specific range
    that matches a type gives its quality)."""
    if "health+json" not in accept.lower():
        return False
    health, json_q, wildcard = None, None, 0.0
    for item in accept.split(","):
        media, *params = item.split(";")
        media, q = media.strip().lower(), _quality(params)
        if media == HealthJSONRenderer.media_type:
            health = max(health or 0.0, q)
        elif media == "application/json":
            json_q = max(json_q or 0.0, q)
        elif media in ("*/*", "application/*"):
            wildcard = max(wildcard, q)
    json_q = wildcard if json_q is None else json_q
    return bool(health) and health >= json_q


def health_document(media_type: str) -> tuple[int, bytes]:
    now = time.monotonic()
    hit = cache_keys.RENDERED.get(media_type)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    report = selectors.health_report()
    if report.stale:
        oncall.raise_on_stale_read(now=report.now)
    data = formats.health_ietf(report) if media_type == HealthJSONRenderer.media_type else formats.health_simple(report)
    status, body = (200 if report.ok else 503), json.dumps(data, separators=(",", ":")).encode()
    keep = min(1.0, settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS)
    if keep > 0:
        cache_keys.RENDERED[media_type] = (now + keep, status, body)
    return status, body


def _document(name: str, build) -> HttpResponse:
    """`build(state)`'s answer as JSON, rendered once and kept in the shared
    cache until the status data changes (`cache_keys`): a read that hits
    costs one small cache round trip instead of a dozen queries."""
    generation, entry = cache_keys.document_get(name)
    if entry is None:
        state = selectors.page_state()
        entry = (JSONRenderer().render(build(state)), state.stale)
        cache_keys.document_set(name, generation, entry, settings.LEVQOR_STATUS_PAGE_CACHE_SECONDS)
    body, stale = entry
    if stale:
        oncall.raise_on_stale_read(now=timezone.now())
    return LeanResponse(body, content_type="application/json")


class StatuspageApi(PublicStatusApi):
    """Statuspage v2 endpoints; readable from any origin like Statuspage's own."""

    def perform_content_negotiation(self, request, force=False):
        # One renderer, never refused (LenientNegotiation; `?format=` cannot
        # filter out a lone renderer): DRF's answer is JSON's own media type
        # unless an Accept entry carries parameters ("application/json;
        # indent=4" outranks it). Without any, skip parsing the header.
        if len(self.renderer_classes) == 1 and ";" not in request.META.get("HTTP_ACCEPT", ""):
            return self.renderer_classes[0](), self.renderer_classes[0].media_type
        return super().perform_content_negotiation(request, force)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = "max-age=10"
        return response


def _schema(operation_id: str, serializer, description: str):
    return extend_schema(
        operation_id=operation_id,
        tags=["status"],
        auth=[],
        description=description,
        responses={200: OpenApiResponse(serializer), 500: OpenApiResponse(ErrorSerializer, description="Server error")},
    )


def _summary(state: selectors.PageState) -> dict:
    lookup = formats.Lookup.of(state)
    maintenances = state.active_maintenances + state.upcoming_maintenances
    return {
        "page": formats.page_dict(state),
        "components": formats.components_list(state, lookup),
        "incidents": [formats.incident_dict(i, lookup) for i in state.unresolved],
        "scheduled_maintenances": [formats.maintenance_dict(m, lookup) for m in maintenances],
        "status": formats.status_dict(state),
    }


class StatuspageSummaryApi(StatuspageApi):
    @_schema(
        "statuspage_summary",
        serializers.SummaryResponseSerializer,
        "Page status, every component, unresolved incidents and upcoming or active maintenance (Statuspage v2).",
    )
    def get(self, request):
        return _document("v2:summary", _summary)


def _status(state: selectors.PageState) -> dict:
    return {"page": formats.page_dict(state), "status": formats.status_dict(state)}


class StatuspageStatusApi(StatuspageApi):
    @_schema("statuspage_status", serializers.StatusResponseSerializer, "The page's indicator and description.")
    def get(self, request):
        return _document("v2:status", _status)


class StatuspageComponentsApi(StatuspageApi):
    @_schema("statuspage_components", serializers.ComponentsResponseSerializer, "Every visible component.")
    def get(self, request):
        return _document(
            "v2:components",
            lambda state: {
                "page": formats.page_dict(state),
                "components": formats.components_list(state, formats.Lookup.of(state)),
            },
        )


class StatuspageIncidentsApi(StatuspageApi):
    unresolved_only = False

    @_schema(
        "statuspage_incidents", serializers.IncidentsResponseSerializer, "The 50 most recent incidents, newest first."
    )
    def get(self, request):
        return _document("v2:unresolved" if self.unresolved_only else "v2:incidents", self.build)

    def build(self, state: selectors.PageState) -> dict:
        lookup = formats.Lookup.of(state)
        incidents = state.unresolved if self.unresolved_only else selectors.incidents_recent(limit=50)
        return {"page": formats.page_dict(state), "incidents": [formats.incident_dict(i, lookup) for i in incidents]}


class StatuspageUnresolvedIncidentsApi(StatuspageIncidentsApi):
    unresolved_only = True

    @_schema(
        "statuspage_incidents_unresolved",
        serializers.IncidentsResponseSerializer,
        "Incidents that are investigating, identified or monitoring.",
    )
    def get(self, request):
        return super().get(request)


class StatuspageMaintenancesApi(StatuspageApi):
    statuses: tuple[str, ...] | None = None

    @_schema(
        "statuspage_scheduled_maintenances",
        serializers.MaintenancesResponseSerializer,
        "The 50 most recent scheduled maintenances.",
    )
    def get(self, request):
        return _document(f"v2:maintenances:{'-'.join(self.statuses or ['all'])}", self.build)

    def build(self, state: selectors.PageState) -> dict:
        lookup = formats.Lookup.of(state)
        maintenances = selectors.maintenances_recent(limit=50, statuses=self.statuses)
        return {
            "page": formats.page_dict(state),
            "scheduled_maintenances": [formats.maintenance_dict(m, lookup) for m in maintenances],
        }


class StatuspageUpcomingMaintenancesApi(StatuspageMaintenancesApi):
    statuses = (MaintenanceStatus.SCHEDULED,)

    @_schema(
        "statuspage_scheduled_maintenances_upcoming",
        serializers.MaintenancesResponseSerializer,
        "Maintenances that are scheduled and not yet started.",
    )
    def get(self, request):
        return super().get(request)


class StatuspageActiveMaintenancesApi(StatuspageMaintenancesApi):
    statuses = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)

    @_schema(
        "statuspage_scheduled_maintenances_active",
        serializers.MaintenancesResponseSerializer,
        "Maintenances in progress or being verified.",
    )
    def get(self, request):
        return super().get(request)


status_health = _health_view()
