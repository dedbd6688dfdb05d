"""Compliance endpoints of the REST API: terms acceptance, the right to
object and the marketing subscription.

Authentication: the project's default (API key: `X-Api-Key` or bearer) or a
signed-in session. These choices belong to a person, so an API key acts for
the user who created it (`person_of`); a key with no creator gets 403.
"""

import ipaddress

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from levqor.lib import ratelimit
from levqor.lib.drf.errors import ErrorSerializer, envelope, error_responses
from levqor.lib.drf.serializers import StrictInputSerializer
from levqor.lib.security import client_ip

from . import marketing, objections, terms
from .models import MARKETING_TOPICS

AUTH_CLASSES = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, SessionAuthentication]


def person_of(request):
    """The person a call acts for: the signed-in user, or the user who
    created the API key if they belong to the key's account. A key staff
    made for a customer's account acts for nobody here: it must never read
    or change a staff member's own consents. None if there is no such person."""
    user = request.user
    if getattr(user, "pk", None) is not None and getattr(user, "email", ""):
        return user
    creator = getattr(request.auth, "created_by", None)
    account_id = getattr(request.auth, "account_id", None)
    if creator is None or account_id is None or creator.account_id != account_id or not creator.is_active:
        return None
    return creator


class IsPerson(BasePermission):
    message = "This needs a signed-in person, or an API key created by one."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and person_of(request) is not None


def _ip_or_none(request) -> str | None:
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


def person_error_responses(*statuses: int) -> dict:
    """Error responses of the endpoints that act for a person (403: a key nobody on its account created)."""
    responses = error_responses(403, *statuses)
    responses[401] = OpenApiResponse(ErrorSerializer, description="Not signed in and no valid API key")
    responses[403] = OpenApiResponse(
        ErrorSerializer, description="A key that no person on its account created, or a failed CSRF check"
    )
    return responses


class AcceptanceSerializer(serializers.Serializer):
    current_version = serializers.CharField(allow_null=True)
    current_version_url = serializers.URLField(
        allow_null=True, help_text="The current version's permanent page: the exact text you accept."
    )
    current_version_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the current version's text (UTF-8), as recorded when you accept it."
    )
    accepted = serializers.BooleanField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    history = serializers.ListField(child=serializers.DictField())


def _acceptance_payload(user) -> dict:
    version = terms.terms_current()
    acceptance = terms.terms_acceptance_for(user=user, version=version) if version else None
    return {
        "current_version": version.version if version else None,
        "current_version_url": (
            settings.LEVQOR_BASE_URL + reverse("pages:terms_version", args=[version.version]) if version else None
        ),
        "current_version_sha256": version.text_sha256 if version else None,
        "accepted": acceptance is not None or version is None,
        "accepted_at": acceptance.accepted_at if acceptance else None,
        "history": terms.terms_export(user=user),
    }


class TermsAcceptanceApi(APIView):
    authentication_classes = AUTH_CLASSES
    permission_classes = [IsPerson]

    @extend_schema(
        summary="Which terms of service version is current, and whether you accepted it",
        responses={200: AcceptanceSerializer, **person_error_responses()},
        tags=["legal"],
    )
    def get(self, request):
        return Response(AcceptanceSerializer(_acceptance_payload(person_of(request))).data)


class TermsAcceptInputSerializer(StrictInputSerializer):
    version = serializers.CharField(
        max_length=100, help_text="The version you accept; must be the current one (GET /api/legal/acceptance)."
    )


class TermsAcceptApi(APIView):
    authentication_classes = AUTH_CLASSES
    permission_classes = [IsPerson]

    @extend_schema(
        summary="Accept the current terms of service",
        request=TermsAcceptInputSerializer,
        responses={
            200: OpenApiResponse(AcceptanceSerializer, description="Already accepted; nothing changed."),
            201: OpenApiResponse(AcceptanceSerializer, description="Accepted."),
            **person_error_responses(400),
            409: OpenApiResponse(ErrorSerializer, description="No terms are published yet (`no_terms_published`)."),
        },
        tags=["legal"],
    )
    def post(self, request):
        data = TermsAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = terms.terms_current()
        if version is None:
            return Response(
                envelope("no_terms_published", "No terms of service are published yet."),
                status=status.HTTP_409_CONFLICT,
            )
        if data.validated_data["version"] != version.version:
            raise serializers.ValidationError(
                {"version": [f"Version {version.version} is current; read it and accept that one."]}
            )
        _, created = terms.terms_accept(
            user=person_of(request),
            version=version,
            ip_address=_ip_or_none(request),
            user_agent=request.headers.get("User-Agent", ""),
            mechanism="api",
        )
        payload = AcceptanceSerializer(_acceptance_payload(person_of(request))).data
        return Response(payload, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OptOutSerializer(StrictInputSerializer):
    marketing = serializers.BooleanField(required=False)
    profiling = serializers.BooleanField(required=False)
    automation = serializers.BooleanField(required=False)
    analytics = serializers.BooleanField(required=False)

    schema_extra = {"minProperties": 1}

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Name at least one of: marketing, profiling, automation, analytics.")
        return attrs


class OptOutApi(APIView):
    """The right to object: `true` objects, `false` withdraws the objection."""

    authentication_classes = AUTH_CLASSES
    permission_classes = [IsPerson]

    @extend_schema(
        summary="Your objections to processing",
        description="Each kind of processing (marketing, profiling, automation, analytics) and whether "
        "you object to it now.",
        responses={200: OptOutSerializer, **person_error_responses()},
        tags=["gdpr"],
    )
    def get(self, request):
        return Response(objections.objections_for(user=person_of(request)))

    @extend_schema(
        summary="Object to (true) or allow (false) kinds of processing",
        description="The right to object: send the kinds to change; `true` objects, `false` withdraws the "
        "objection. Kinds you leave out are unchanged.",
        request=OptOutSerializer,
        responses={
            200: OptOutSerializer,
            **person_error_responses(400),
            400: OpenApiResponse(
                ErrorSerializer, description="No kind named (`validation_error`), or an unknown one (`unknown_field`)."
            ),
        },
        tags=["gdpr"],
    )
    def post(self, request):
        data = OptOutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objections.objections_set(
            user=person_of(request), choices=data.validated_data, source="api", actor=person_of(request)
        )
        return Response(objections.objections_for(user=person_of(request)))


class SubscribeSerializer(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    topics = serializers.MultipleChoiceField(
        choices=MARKETING_TOPICS,
        allow_empty=False,
        help_text="The topics the person chose. Nothing is chosen for them: consent is per topic.",
    )


class MarketingStatusSerializer(serializers.Serializer):
    email = serializers.EmailField()
    subscription = serializers.ChoiceField(choices=["none", "pending", "confirmed", "unsubscribed"])
    topics = inline_serializer("MarketingTopics", {code: serializers.BooleanField() for code, _ in MARKETING_TOPICS})
    objected_to_marketing = serializers.BooleanField()
    receives_marketing = serializers.BooleanField(help_text="Confirmed, at least one topic, and no objection.")


class MarketingStatusApi(APIView):
    """The marketing email your address gets, for a signed-in session or an API key acting for its creator."""

    authentication_classes = AUTH_CLASSES
    permission_classes = [IsPerson]

    @extend_schema(
        summary="Your marketing email status",
        responses={200: MarketingStatusSerializer, **person_error_responses()},
        tags=["marketing"],
    )
    def get(self, request):
        return Response(marketing.marketing_status(email=person_of(request).email))


class UnsubscribeSerializer(StrictInputSerializer):
    """No fields: the call acts for the signed-in person or the key's creator."""


class MarketingUnsubscribeApi(APIView):
    """Stop all marketing email to your address (one call, no questions; safe to repeat)."""

    authentication_classes = AUTH_CLASSES
    permission_classes = [IsPerson]

    @extend_schema(
        summary="Unsubscribe from all marketing email",
        request=UnsubscribeSerializer,
        responses={
            200: MarketingStatusSerializer,
            **person_error_responses(400),
            400: OpenApiResponse(ErrorSerializer, description="A field was sent (`unknown_field`): none is taken."),
        },
        tags=["marketing"],
    )
    def post(self, request):
        UnsubscribeSerializer(data=request.data or {}).is_valid(raise_exception=True)
        person = person_of(request)
        marketing.marketing_unsubscribe_email(email=person.email, actor=person)
        return Response(marketing.marketing_status(email=person.email))


class MarketingSubscribeApi(APIView):
    """Public: anyone may ask for marketing email; nothing is sent but a
    confirmation link until they follow it."""

    authentication_classes = AUTH_CLASSES
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Subscribe to marketing email (double opt-in)",
        request=SubscribeSerializer,
        responses={
            202: inline_serializer("SubscribeAccepted", {"detail": serializers.CharField()}),
            400: OpenApiResponse(ErrorSerializer, description="Invalid email or topic, or an unknown field."),
            401: OpenApiResponse(ErrorSerializer, description="An API key was sent and is not valid (none is needed)."),
            403: OpenApiResponse(ErrorSerializer, description="Sent with a signed-in session but no CSRF token."),
            429: OpenApiResponse(ErrorSerializer, description="Too many requests from this address."),
            500: OpenApiResponse(ErrorSerializer, description="Server error"),
        },
        tags=["marketing"],
    )
    def post(self, request):
        limit = ratelimit.hit(request, "subscribe", "10/10m")
        if not limit.allowed:
            raise Throttled(wait=limit.retry_after)
        data = SubscribeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chosen = data.validated_data["topics"]
        marketing.marketing_subscribe(
            email=data.validated_data["email"],
            topics={code: code in chosen for code in marketing.TOPIC_CODES},
            source="api",
            user=person_of(request) if request.user.is_authenticated else None,
        )
        # The same answer whether the address is new, pending or confirmed.
        return Response(
            {"detail": "If this address is not yet subscribed, we have emailed it a confirmation link."},
            status=status.HTTP_202_ACCEPTED,
        )
