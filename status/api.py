"""The public status API: health (two formats) and the Statuspage v2 read API.

Public on purpose: no authentication, no permission, no throttle (set
explicitly so the project's API defaults never apply), and every answer is
read from stored results.
"""

import json
import time

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAcceptable
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from levqor.lib.drf.errors import ErrorSerializer
from levqor.lib.drf.negotiation import ApiContentNegotiation

from . import formats, selectors, serializers
from .models import MaintenanceStatus


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
    "The health of each component from the latest stored probe results: HTTP 200 when no critical component "
    "is down, 503 when one is. `Accept: application/health+json` returns the IETF health check draft format "
    "(`status` pass/warn/fail, `checks` keyed `component:measurement`). Never runs a probe."
)


class StatusHealthApi(PublicStatusApi):
    renderer_classes = [JSONRenderer, HealthJSONRenderer]
    parser_classes = []

    def perform_content_negotiation(self, request, force=False):
        # Without "health+json" in Accept (and no ?format=), full negotiation
        # can only pick JSON (the first renderer, also the fallback): skip its
        # cost on this hot path. Otherwise DRF decides.
        if "health+json" not in request.META.get("HTTP_ACCEPT", "") and not request.META.get("QUERY_STRING"):
            renderer = self.renderer_classes[0]()
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

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


# Monitors poll this endpoint hard: each process keeps the rendered document
# for up to a second (never longer than the shared cache would), so most
# requests cost a dictionary lookup. Forgotten whenever new results are stored.
_rendered: dict[str, tuple[float, int, bytes]] = {}


def health_document(media_type: str) -> tuple[int, bytes]:
    now = time.monotonic()
    hit = _rendered.get(media_type)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    report = selectors.health_report()
    data = formats.health_ietf(report) if media_type == HealthJSONRenderer.media_type else formats.health_simple(report)
    status, body = (200 if report.ok else 503), json.dumps(data, separators=(",", ":")).encode()
    keep = min(1.0, settings.LEVQOR_STATUS_HEALTH_CACHE_SECONDS)
    if keep > 0:
        _rendered[media_type] = (now + keep, status, body)
    return status, body


def forget_rendered() -> None:
    _rendered.clear()


class StatuspageApi(PublicStatusApi):
    """Statuspage v2 endpoints; readable from any origin like Statuspage's own."""

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


class StatuspageSummaryApi(StatuspageApi):
    @_schema(
        "statuspage_summary",
        serializers.SummaryResponseSerializer,
        "Page status, every component, unresolved incidents and upcoming or active maintenance (Statuspage v2).",
    )
    def get(self, request):
        state = selectors.page_state()
        lookup = formats.Lookup.of(state)
        maintenances = state.active_maintenances + state.upcoming_maintenances
        return Response(
            {
                "page": formats.page_dict(state),
                "components": formats.components_list(state, lookup),
                "incidents": [formats.incident_dict(i, lookup) for i in state.unresolved],
                "scheduled_maintenances": [formats.maintenance_dict(m, lookup) for m in maintenances],
                "status": formats.status_dict(state),
            }
        )


class StatuspageStatusApi(StatuspageApi):
    @_schema("statuspage_status", serializers.StatusResponseSerializer, "The page's indicator and description.")
    def get(self, request):
        state = selectors.page_state()
        return Response({"page": formats.page_dict(state), "status": formats.status_dict(state)})


class StatuspageComponentsApi(StatuspageApi):
    @_schema("statuspage_components", serializers.ComponentsResponseSerializer, "Every visible component.")
    def get(self, request):
        state = selectors.page_state()
        return Response(
            {"page": formats.page_dict(state), "components": formats.components_list(state, formats.Lookup.of(state))}
        )


class StatuspageIncidentsApi(StatuspageApi):
    unresolved_only = False

    @_schema(
        "statuspage_incidents", serializers.IncidentsResponseSerializer, "The 50 most recent incidents, newest first."
    )
    def get(self, request):
        state = selectors.page_state()
        lookup = formats.Lookup.of(state)
        incidents = state.unresolved if self.unresolved_only else selectors.incidents_recent(limit=50)
        return Response(
            {"page": formats.page_dict(state), "incidents": [formats.incident_dict(i, lookup) for i in incidents]}
        )


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
        state = selectors.page_state()
        lookup = formats.Lookup.of(state)
        maintenances = selectors.maintenances_recent(limit=50, statuses=self.statuses)
        return Response(
            {
                "page": formats.page_dict(state),
                "scheduled_maintenances": [formats.maintenance_dict(m, lookup) for m in maintenances],
            }
        )


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
