"""GET /api/metrics/app: the operators' JSON figures."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from levqor.lib.drf.errors import ErrorSerializer

from . import auth, selectors

STAFF_ONLY = "Metrics are for Levqor staff: sign in to the admin, or send the metrics token."


class MetricsTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <LEVQOR_METRICS_TOKEN>`; any other key is refused (403)."""

    def authenticate(self, request):
        if auth.has_metrics_token(request):
            return (None, "metrics-token")
        if auth.bearer(request) is not None or request.headers.get("X-Api-Key") is not None:
            raise exceptions.PermissionDenied(STAFF_ONLY)
        return None


class IsStaffOrMetricsToken(BasePermission):
    def has_permission(self, request, view) -> bool:
        if request.auth == "metrics-token" or auth.is_staff_session(request):
            return True
        raise exceptions.PermissionDenied(STAFF_ONLY)


class AppMetricsSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="ok while the app answers.")
    uptime_seconds = serializers.IntegerField(help_text="Since the answering web process started.")
    ai_requests_last_5m = serializers.IntegerField(help_text="Assistant calls, all web processes.")
    errors_last_5m = serializers.IntegerField(help_text="5xx answers, all web processes.")
    queue_depth = serializers.IntegerField(allow_null=True, help_text="Tasks waiting; null if the broker is down.")
    failed_tasks = serializers.IntegerField(help_text="Failed tasks kept by the task queue.")
    failed_tasks_last_24h = serializers.IntegerField()
    backlogs = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="Work waiting, by name (dunning_due, data_requests_open, disputes_open, ...); null if uncounted.",
    )
    generated_at = serializers.DateTimeField()


class AppMetricsApi(GenericAPIView):
    """The app's health figures for operators."""

    authentication_classes = [MetricsTokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaffOrMetricsToken]
    throttle_classes: list = []
    serializer_class = AppMetricsSerializer
    pagination_class = None

    @extend_schema(
        operation_id="metrics_app",
        tags=["metrics"],
        summary="App metrics (staff)",
        description="A signed-in staff session, or `Authorization: Bearer <LEVQOR_METRICS_TOKEN>`. "
        "Customer API keys get 403. The same figures in Prometheus format: GET /metrics.",
        auth=[],
        responses={
            200: AppMetricsSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Not staff, or a customer API key was sent"),
        },
    )
    def get(self, request):
        return Response(AppMetricsSerializer(selectors.app_metrics()).data)
