"""DSAR endpoints of the REST API: request a data export, list your own.

Authentication: the project's default (API key) plus the browser session.
A signed-in person acts for themself. A live API key acts for the person
who created it, while they belong to the key's account (`compliance.api.
person_of`); sandbox keys never touch real people's data: they list nothing
and cannot request an export.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from levqor.lib.drf.errors import ErrorSerializer
from levqor.lib.drf.serializers import EmptyBodySerializer

from ..api import person_of
from . import exports
from .models import DataExport

AUTH_CLASSES = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, SessionAuthentication]


class ExportTooSoonError(exceptions.APIException):
    status_code = 429
    default_code = "dsar_too_soon"

    def __init__(self, exc: exports.ExportTooSoon):
        super().__init__(exc.messages[0], "dsar_too_soon")
        self.wait = max(1, int((exc.next_allowed_at - timezone.now()).total_seconds()))


class DataExportSerializer(serializers.ModelSerializer):
    due_on = serializers.DateField(source="deadline_on", help_text="The statutory deadline (with any extension).")
    download_url = serializers.SerializerMethodField(help_text="The signed download link while it is valid.")

    class Meta:
        model = DataExport
        fields = (
            "id",
            "status",
            "requested_at",
            "requested_via",
            "due_on",
            "completed_at",
            "link_expires_at",
            "download_url",
        )
        read_only_fields = fields

    def get_download_url(self, export) -> str | None:
        return exports.link_url(export) if export.link_is_live else None


class DsarSubjectMixin:
    authentication_classes = AUTH_CLASSES
    permission_classes = [IsAuthenticated]

    def subject(self, *, writing: bool):
        """The person the request is about, or None for a sandbox key's read."""
        principal = self.request.user
        User = get_user_model()
        if isinstance(principal, User):
            return principal
        if getattr(principal, "sandbox", False):
            if writing:
                raise exceptions.PermissionDenied("Sandbox keys cannot make data requests; use a live key or sign in.")
            return None
        # A data request is personal: a key acts for the person who created
        # it, and only while they belong to the key's account (a key staff
        # made for a customer acts for nobody).
        person = person_of(self.request)
        if person is None:
            raise exceptions.PermissionDenied(
                "This key was not created by a person of its account; sign in, or use a key you created."
            )
        return person

    def actor(self) -> dict:
        principal = self.request.user
        if isinstance(principal, get_user_model()):
            return {"actor": principal}
        return {"actor": None, "actor_label": getattr(principal, "audit_label", "api-key")}


class DsarExportCreateApi(DsarSubjectMixin, generics.GenericAPIView):
    """Request an export of your personal data (at most one every 30 days); a signed download link is emailed."""

    serializer_class = DataExportSerializer

    @extend_schema(
        operation_id="dsar_export_create",
        tags=["dsar"],
        summary="Request a data export",
        description="Acts for the signed-in person, or for the person who created the API key (while they "
        "belong to the key's account). Takes no body: any field is refused with 400 `unknown_field`.",
        request=None,
        responses={
            202: DataExportSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A body with fields (`unknown_field`)."),
            401: OpenApiResponse(ErrorSerializer, description="Not signed in and no valid API key."),
            403: OpenApiResponse(
                ErrorSerializer,
                description="A sandbox key, a key that no person on its account created, or a failed CSRF check.",
            ),
            415: OpenApiResponse(ErrorSerializer, description="A body that is not JSON."),
            429: OpenApiResponse(
                ErrorSerializer,
                description="An export was requested in the last 30 days (`dsar_too_soon`; the "
                "message gives the next allowed date, `Retry-After` the seconds), or a rate limit.",
            ),
            500: OpenApiResponse(ErrorSerializer, description="Server error"),
        },
    )
    def post(self, request):
        EmptyBodySerializer(data=request.data).is_valid(raise_exception=True)
        user = self.subject(writing=True)
        try:
            export = exports.export_request(user=user, via=DataExport.Via.API, **self.actor())
        except exports.ExportTooSoon as exc:
            raise ExportTooSoonError(exc) from None
        return Response(DataExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class DsarExportListApi(DsarSubjectMixin, generics.ListAPIView):
    """Your own data exports, newest first, with the download link while it is valid."""

    serializer_class = DataExportSerializer

    def get_queryset(self):
        user = self.subject(writing=False)
        if user is None:
            return DataExport.objects.none()
        return exports.export_list(user=user)

    @extend_schema(
        operation_id="dsar_exports_list",
        tags=["dsar"],
        summary="List your data exports",
        responses={
            200: DataExportSerializer(many=True),
            401: OpenApiResponse(ErrorSerializer, description="Not signed in and no valid API key."),
            403: OpenApiResponse(
                ErrorSerializer, description="A key that no person on its account created, or a failed CSRF check."
            ),
            429: OpenApiResponse(ErrorSerializer, description="Rate limit."),
            500: OpenApiResponse(ErrorSerializer, description="Server error"),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
