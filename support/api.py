"""Support endpoints of the REST API.

Customer endpoints (`/api/sla-credits/...`, `/api/disputes...`) act for the
calling key's account (`levqor.api.base.AccountApi`): another account's
records are invisible. They accept writes from a paused account too (a
customer must be able to dispute a bill). Sandbox keys touch no real
records: they list nothing and get 403 on writes.

Staff endpoints (`/api/admin/sla-credits...`) accept only a signed-in,
active staff session, with CSRF enforced on writes. API keys are refused
outright (403, even alongside a staff session): staff create and rotate keys
for customers' accounts in the admin, so who made a key says nothing about
who holds it.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from levqor.accounts.models import User
from levqor.accounts.selectors import account_owner
from levqor.api.authentication import check_ip_burst, credentials_from
from levqor.api.base import AccountApi
from levqor.api.models import ApiKey
from levqor.lib.drf.errors import error_responses

from . import selectors, services
from .models import SlaCreditRequest
from .rules import day_period, month_period
from .serializers import (
    DisputeCreateSerializer,
    DisputeSerializer,
    SlaCreditRequestCreateSerializer,
    SlaCreditRequestSerializer,
    SlaDecisionSerializer,
    StaffSlaCreditRequestSerializer,
    TicketCreateSerializer,
    TicketReplySerializer,
    TicketSerializer,
)


class HasKeyAnyBillingState(BasePermission):
    """A valid API key; writes allowed whatever the account's billing state."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class SupportApi(AccountApi):
    permission_classes = [HasKeyAnyBillingState]

    def person(self) -> User | None:
        """Who filed it: the key's creator when they belong to the account, else its first active user."""
        creator = self.request.auth.created_by
        if creator is not None and creator.account_id == self.account.pk and creator.is_active:
            return creator
        return account_owner(self.account)

    def refuse_sandbox(self) -> None:
        if self.sandbox:
            raise exceptions.PermissionDenied("Sandbox keys cannot file support requests; use a live key or sign in.")


class SlaCreditRequestCreateApi(SupportApi):
    """File an SLA credit request for a month or a day; the measured downtime is computed and stored."""

    serializer_class = SlaCreditRequestCreateSerializer

    @extend_schema(
        operation_id="sla_credit_request_create",
        tags=["support"],
        summary="File an SLA credit request",
        description="A month (`period_kind` month with `month`) or a day (`period_kind` day with "
        "`incident_date`); the other period field is refused. Besides the body's shape, a 400 names `period` "
        "when the period has not started, its claim window has closed (the end of the second month after it), "
        "or the account had no paid subscription during it. Needs a live key: sandbox keys get 403.",
        request=SlaCreditRequestCreateSerializer,
        responses={201: SlaCreditRequestSerializer, **error_responses(400, 403)},
    )
    def post(self, request):
        self.refuse_sandbox()
        data = SlaCreditRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        period = (
            month_period(values["month"]) if values["period_kind"] == "month" else day_period(values["incident_date"])
        )
        filed = services.sla_request_file(
            account=self.account,
            user=self.person(),
            plan=values.get("plan") or self.account.plan,
            period=period,
            impact=values["impact"],
            description=values["description"],
            via="api",
            **self.audit_actor(),
        )
        return Response(SlaCreditRequestSerializer(filed).data, status=status.HTTP_201_CREATED)


class SlaCreditRequestListApi(SupportApi):
    """The account's own SLA credit requests, newest first, with status and decision."""

    serializer_class = SlaCreditRequestSerializer

    def get_queryset(self):
        if self.sandbox:
            return SlaCreditRequest.objects.none()
        return selectors.sla_request_list(account=self.account)

    @extend_schema(
        operation_id="sla_credit_requests_mine",
        tags=["support"],
        summary="List your SLA credit requests",
        responses={200: SlaCreditRequestSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SlaCreditRequestSerializer(page, many=True).data)


class DisputeCreateApi(SupportApi):
    """Open a dispute (billing, service quality, security or other); support is emailed."""

    serializer_class = DisputeCreateSerializer

    @extend_schema(
        operation_id="dispute_create",
        tags=["support"],
        summary="Open a dispute",
        request=DisputeCreateSerializer,
        responses={201: DisputeSerializer, **error_responses(400, 403)},
    )
    def post(self, request):
        self.refuse_sandbox()
        data = DisputeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.dispute_open(
            account=self.account, user=self.person(), **data.validated_data, **self.audit_actor()
        )
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeListApi(SupportApi):
    """The account's own disputes, newest first, with status, resolution notes and staff replies."""

    serializer_class = DisputeSerializer

    def get_queryset(self):
        if self.sandbox:
            return selectors.dispute_list(account=self.account).none()
        return selectors.dispute_list(account=self.account).prefetch_related("messages")

    @extend_schema(
        operation_id="disputes_mine",
        tags=["support"],
        summary="List your disputes",
        responses={200: DisputeSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DisputeSerializer(page, many=True).data)


# --- Staff -------------------------------------------------------------------------------


STAFF_ONLY = "Staff only: sign in to the admin and call this from that session; API keys are not accepted here."


class StaffSessionAuthentication(SessionAuthentication):
    """The signed-in session only (CSRF enforced by SessionAuthentication on
    unsafe methods), behind the same per-IP burst limit as the rest of the
    API. Any API key on the request is refused rather than ignored."""

    def authenticate(self, request):
        check_ip_burst(request)
        if credentials_from(request) is not None:
            raise exceptions.PermissionDenied(STAFF_ONLY)
        return super().authenticate(request)


class StaffSessionScheme(SessionScheme):
    """OpenAPI: the staff endpoints' only security is the admin session cookie."""

    target_class = "support.api.StaffSessionAuthentication"
    name = "StaffSessionAuth"

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": "A signed-in, active staff user's admin session; POST also needs the CSRF token "
            "(X-CSRFToken). API keys are refused.",
        }


class IsSupportStaff(BasePermission):
    """An active staff user from a session: never a key, whoever created it."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, User) and user.is_active and user.is_staff and request.auth is None:
            return True
        # Raised here, not returned: DRF would answer an anonymous caller
        # "not_authenticated", which this API documents as a missing key.
        raise exceptions.PermissionDenied(STAFF_ONLY)


def staff_error_responses(*statuses: int) -> dict:
    """As `error_responses`, less 401 (there is no key to be wrong), with 403 described for staff."""
    responses = {code: value for code, value in error_responses(403, *statuses).items() if code != 401}
    responses[403] = OpenApiResponse(
        responses[403].response,
        description="Not a signed-in active staff session, a failed CSRF check, or an API key was sent "
        "(keys are never accepted here)",
    )
    return responses


class StaffApi(GenericAPIView):
    authentication_classes = [StaffSessionAuthentication]
    permission_classes = [IsSupportStaff]


class StaffSlaCreditListApi(StaffApi):
    """Staff: the SLA credit queue, oldest first, with claimed vs measured and the suggested credit."""

    serializer_class = StaffSlaCreditRequestSerializer

    @extend_schema(
        operation_id="staff_sla_credits_list",
        tags=["support-staff"],
        summary="List SLA credit requests (staff)",
        description="Staff only: a signed-in admin session (cookie, with the CSRF token on POST). "
        "API keys are refused with 403 whoever created them.",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=["needs-attention", *SlaCreditRequest.Status.values],
                description="Filter by status; `needs-attention` is pending. Omit for all.",
            )
        ],
        responses={200: StaffSlaCreditRequestSerializer(many=True), **staff_error_responses(400)},
    )
    def get(self, request):
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in ("needs-attention", *SlaCreditRequest.Status.values):
            raise exceptions.ValidationError(
                {"status": ["Use needs-attention or one of: " + ", ".join(SlaCreditRequest.Status.values)]}
            )
        page = self.paginate_queryset(selectors.sla_requests_for_staff(status=wanted))
        return self.get_paginated_response(StaffSlaCreditRequestSerializer(page, many=True).data)


class StaffSlaCreditDecisionApi(StaffApi):
    """Staff: decide a request; an approval with a credit is applied in Stripe once, the customer is emailed."""

    serializer_class = SlaDecisionSerializer

    @extend_schema(
        operation_id="staff_sla_credit_decide",
        tags=["support-staff"],
        summary="Decide an SLA credit request (staff)",
        description="Staff only: a signed-in admin session (cookie, with the CSRF token on POST). "
        "API keys are refused with 403 whoever created them.\n\n"
        "Body: `status` (approved, rejected or needs-more-info), `credit_amount` in pounds (e.g. 14.90; "
        "only with approved), `currency` (optional, GBP only), `notes` to the customer and `internal_notes`. "
        "`credit_amount_minor` (pence), `credit_currency` and `notes_to_customer` are accepted as aliases "
        "(one name per value). Omitted notes are saved empty; any other field is refused with 400 "
        "`unknown_field`. An approved request's credit is fixed: only its notes can change.",
        request=SlaDecisionSerializer,
        responses={
            200: OpenApiResponse(StaffSlaCreditRequestSerializer, description="The request after the decision."),
            **staff_error_responses(400, 404),
        },
    )
    def post(self, request, request_id: int):
        found = SlaCreditRequest.objects.filter(pk=request_id).first()
        if found is None:
            raise exceptions.NotFound("No such SLA credit request.")
        data = SlaDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.sla_request_decide(request=found, **data.service_kwargs(), actor=request.user)
        except DjangoValidationError as exc:
            # The service names its keywords; answer with the names the caller sent.
            fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            raise exceptions.ValidationError({data.sent_as(name): text for name, text in fields.items()}) from None
        found.refresh_from_db()
        return Response(StaffSlaCreditRequestSerializer(found).data)


# --- Tickets ---------------------------------------------------------------------------


class TicketListCreateApi(SupportApi):
    """The account's tickets (GET), or open one (POST)."""

    serializer_class = TicketSerializer

    def get_queryset(self):
        if self.sandbox:
            return selectors.ticket_list(account=self.account).none()
        return selectors.ticket_list(account=self.account).prefetch_related("messages")

    @extend_schema(
        operation_id="support_tickets_mine",
        tags=["support"],
        summary="List your support tickets",
        description="Newest first, each with its thread (internal notes never) and `first_response_due_at`.",
        responses={200: TicketSerializer(many=True), **error_responses()},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TicketSerializer(page, many=True).data)

    @extend_schema(
        operation_id="support_ticket_create",
        tags=["support"],
        summary="Open a support ticket",
        description="The first response is due `support_sla_hours` after opening, by the account's plan "
        "(`first_response_due_at`). Support and the account are emailed. Needs a live key: sandbox keys get 403.",
        request=TicketCreateSerializer,
        responses={201: TicketSerializer, **error_responses(400, 403)},
    )
    def post(self, request):
        self.refuse_sandbox()
        data = TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ticket = services.ticket_open(
                account=self.account, user=self.person(), via="api", **data.validated_data, **self.audit_actor()
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(SupportApi):
    """One of the account's tickets (GET), or add a message to it (POST)."""

    serializer_class = TicketSerializer

    def ticket(self, ticket_id: int):
        found = None if self.sandbox else selectors.ticket_get(account=self.account, ticket_id=ticket_id)
        if found is None:
            raise exceptions.NotFound("No such ticket.")
        return found

    @extend_schema(
        operation_id="support_ticket_read",
        tags=["support"],
        summary="Read one of your tickets",
        responses={200: TicketSerializer, **error_responses(404)},
    )
    def get(self, request, ticket_id: int):
        return Response(TicketSerializer(self.ticket(ticket_id)).data)

    @extend_schema(
        operation_id="support_ticket_reply",
        tags=["support"],
        summary="Add a message to one of your tickets",
        description="A ticket waiting on you or resolved opens again; a closed or merged one answers 400.",
        request=TicketReplySerializer,
        responses={201: TicketSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request, ticket_id: int):
        self.refuse_sandbox()
        ticket = self.ticket(ticket_id)
        data = TicketReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.ticket_customer_reply(
                ticket=ticket, user=self.person(), body=data.validated_data["body"], via="api", **self.audit_actor()
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        ticket.refresh_from_db()
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)
