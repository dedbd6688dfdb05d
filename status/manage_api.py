"""The Statuspage-compatible manage API v1, under /api/v1/.

Existing Statuspage scripts, generated API clients and integrations work by
changing the base URL: the same paths (`/pages/{page_id}/...`), the same
bodies (`{"incident": {...}}`), the same objects and the same
`Authorization: OAuth <key>` header (or `?api_key=`). Keys are staff
`StatusApiKey`s with a scope (read: GET only; write: everything); customer
API keys and sessions are refused (401). Every call with a key is audited
(`status.api.called`: method, path, status), writes also by the services
they call; each key may make LEVQOR_STATUS_API_RATE_LIMIT calls in any
LEVQOR_STATUS_API_RATE_WINDOW seconds (429 with Retry-After). Errors are
Statuspage's `{"error": "..."}`: 400 malformed body or unknown field, 401
no or bad key, 403 wrong scope, 404 unknown page, component, incident or
subscriber, 422 a value that cannot be applied, 429 too many calls.
"""

import re
import time

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import FormParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import audit
from levqor.api.authentication import check_ip_burst
from levqor.lib import window
from levqor.lib.drf import errors
from levqor.lib.drf.parsers import SafeJSONParser

from . import manage_formats as formats
from . import manage_serializers as shapes
from . import selectors, services
from .api import LenientNegotiation
from .formats import Lookup
from .models import (
    UNRESOLVED,
    Component,
    ComponentStatus,
    Incident,
    Maintenance,
    MaintenanceStatus,
    StatusApiKey,
    Subscriber,
    WebhookSubscriber,
)
from .services import manage, subscriptions

REALM = 'OAuth realm="Levqor status API"'
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)

# --- Authentication, scope, rate limit, audit ------------------------------------------


class StatusApiPrincipal:
    """`request.user` for a status key: a staff integration, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: StatusApiKey):
        self.key = key

    def get_username(self) -> str:
        return self.key.audit_label

    def __str__(self) -> str:
        return self.key.audit_label


def credentials_from(request) -> str | None:
    """`Authorization: OAuth <key>` (Statuspage's header), else `?api_key=`."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "oauth":
        return token.strip()
    if "api_key" in request.query_params:
        return request.query_params["api_key"].strip()
    return None


class StatusKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        check_ip_burst(request)  # guessing keys is throttled per address too
        raw = credentials_from(request)
        if raw is None:
            return None  # the permission check answers 401
        key = selectors.status_api_key_for_secret(raw) if raw else None
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        request._request.status_api_key = key  # audited, even when refused below
        if not key.is_active:
            raise exceptions.AuthenticationFailed("The API key was revoked.")
        hit = window.hit(
            f"status-api:{key.pk}",
            limit=settings.LEVQOR_STATUS_API_RATE_LIMIT,
            window=settings.LEVQOR_STATUS_API_RATE_WINDOW,
            now=time.time(),
        )
        if not hit.allowed:
            raise errors.TooManyRequests(
                message=f"Rate limit exceeded: at most {hit.limit} calls in any "
                f"{settings.LEVQOR_STATUS_API_RATE_WINDOW} s per key. Retry in {hit.retry_after} s.",
                code="rate_limited",
                wait=hit.retry_after,
                details={},
            )
        services.status_api_key_touch(key=key)
        return StatusApiPrincipal(key), key

    def authenticate_header(self, request):
        return REALM


class StatusKeyScope(BasePermission):
    """A status key; writes need scope `write` (403 otherwise)."""

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, StatusApiKey):
            return False
        if request.method not in SAFE_METHODS and key.scope != StatusApiKey.Scope.WRITE:
            raise exceptions.PermissionDenied("This key may only read (scope read): writing needs a write key.")
        return True


class StatusKeyScheme(OpenApiAuthenticationExtension):
    target_class = "status.manage_api.StatusKeyAuthentication"
    name = ["StatuspageOAuth", "StatuspageApiKeyQuery"]

    def get_security_requirement(self, auto_schema):
        return [{"StatuspageOAuth": []}, {"StatuspageApiKeyQuery": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`OAuth <key>`: a staff status API key (lvq_status_…), as Statuspage's header.",
            },
            {"type": "apiKey", "in": "query", "name": "api_key", "description": "The same key as a query parameter."},
        ]


def statuspage_exception_handler(exc, context):
    """Statuspage's error body, `{"error": "..."}`: a body that cannot be
    applied is 422 (naming each field), a malformed one 400."""
    response = errors.exception_handler(exc, context)
    error = response.data["error"]
    message = error["message"]
    if error["code"] == "validation_error":
        fields = error["details"].get("fields", {})
        message = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items()) or message
        response.status_code = 422
    response.data = {"error": message}
    return response


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def nest_form(pairs) -> dict:
    """Rails-style form fields, as Statuspage's curl examples send them
    (`incident[name]=…`, `incident[component_ids][]=…`,
    `incident[components][<id>]=…`), as the JSON object they stand for."""
    data: dict = {}
    for name, value in pairs:
        head = name.split("[", 1)[0]
        keys = [head, *_BRACKETS.findall(name[len(head) :])]
        if not head or "".join(f"[{k}]" for k in keys[1:]) != name[len(head) :]:
            raise exceptions.ParseError(f"Form field {name!r} is not of the form name[key][...].")
        node = data
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if key == "":
                raise exceptions.ParseError(f"Form field {name!r}: [] may only end a name.")
            following = keys[depth + 1] if not last else None
            if last:
                node[key] = value
            elif following == "" and depth + 1 == len(keys) - 1:
                existing = node.setdefault(key, [])
                if not isinstance(existing, list):
                    raise exceptions.ParseError(f"Form field {name!r} mixes a list and a value.")
                existing.append(value)
                break
            else:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    raise exceptions.ParseError(f"Form field {name!r} mixes an object and a value.")
    return data


class StatuspageFormParser(FormParser):
    """`application/x-www-form-urlencoded` bodies in Rails' nested style."""

    def parse(self, stream, media_type=None, parser_context=None):
        form = super().parse(stream, media_type, parser_context)
        return nest_form((name, value) for name in form for value in form.getlist(name))


class JsonBodiesSchema(AutoSchema):
    """The schema documents JSON bodies (forms are accepted for Statuspage's curl examples)."""

    def map_parsers(self):
        return ["application/json"]


class Refused(exceptions.APIException):
    status_code = 422
    default_code = "unprocessable"


class ManageApi(APIView):
    authentication_classes = [StatusKeyAuthentication]
    permission_classes = [StatusKeyScope]
    throttle_classes = []
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser, StatuspageFormParser]
    content_negotiation_class = LenientNegotiation
    schema = JsonBodiesSchema()

    def get_exception_handler(self):
        return statuspage_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "\x00" in request.path or any("\x00" in v for _n, vs in request.query_params.lists() for v in vs):
            # PostgreSQL refuses NUL in any text it is asked to compare.
            raise exceptions.ParseError("NUL characters (%00) are not allowed in the path or the query string.")
        page_id = kwargs.get("page_id")
        if page_id is not None and page_id != settings.LEVQOR_STATUS_PAGE_ID:
            raise exceptions.NotFound(f"No page {page_id!r}: this console's page is {settings.LEVQOR_STATUS_PAGE_ID}.")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        key = getattr(request._request, "status_api_key", None)
        if key is not None:
            with transaction.atomic():
                audit.record(
                    actor=None,
                    actor_label=key.audit_label,
                    action="status.api.called",
                    target=key,
                    details={
                        "method": request.method,
                        "path": request.path.replace("\x00", "%00"),  # PostgreSQL's JSON refuses NUL
                        "status": response.status_code,
                    },
                )
        return response

    @property
    def actor(self) -> dict:
        """Keyword arguments for services: no user, labelled with the key."""
        return {"actor": None, "actor_label": self.request.auth.audit_label}

    def body(self, envelope: type[shapes.StrictInputSerializer]) -> dict:
        """The fields inside Statuspage's envelope (`{"incident": {...}}`),
        each level strict: an unknown field is a 400 naming it."""
        outer = envelope(data=self.request.data)
        unknown = outer.unknown_fields()
        if unknown:
            raise errors.UnknownField(unknown=unknown, accepted=outer.accepted_fields())
        (name,) = outer.accepted_fields()
        inner = self.request.data.get(name) if isinstance(self.request.data, dict) else None
        if not isinstance(inner, dict):
            raise exceptions.ParseError(f'The body must be a JSON object {{"{name}": {{...}}}}.')
        fields = type(outer.fields[name])(data=inner)
        unknown = fields.unknown_fields()
        if unknown:
            raise errors.UnknownField(unknown=[f"{name}.{u}" for u in unknown], accepted=fields.accepted_fields())
        if not fields.is_valid():
            raise exceptions.ValidationError({name: fields.errors})
        return fields.validated_data


def _query_int(request, name: str, default: int, maximum: int | None = None, minimum: int = 1) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        upper = f" to {maximum}" if maximum else ""
        raise exceptions.ParseError(f"{name}: use a whole number from {minimum}{upper}.")
    return int(raw)


def _page_size(request) -> int:
    """`limit`, or `per_page` (the name Statuspage's unresolved, scheduled,
    upcoming and active_maintenance lists use): 1 to 100, default 100."""
    name = "limit" if request.query_params.get("limit") else "per_page"
    return _query_int(request, name, 100, maximum=100)


# --- OpenAPI -------------------------------------------------------------------------

TAG = "status-manage"
PAGE_ID = OpenApiParameter("page_id", str, OpenApiParameter.PATH, description="The page id (see GET /api/v1/pages).")


def _errors(*statuses: int) -> dict:
    text = {
        400: "Malformed body, or a field Statuspage's reference does not define (named)",
        401: "No key, or an unknown or revoked key (customer API keys and sessions are refused)",
        403: "A read-only key asked to write",
        404: "Unknown page, component, incident or subscriber",
        413: "The body is too large",
        415: "The body is not JSON",
        422: "A value that cannot be applied (named)",
        429: "Rate limit (Retry-After header)",
        500: "Server error",
    }
    wanted = sorted({*statuses, 401, 404, 429, 500})
    return {status: OpenApiResponse(shapes.ManageErrorSerializer, description=text[status]) for status in wanted}


def _schema(operation_id: str, description: str, response, *, status: int = 200, request=None, params=(), errs=()):
    codes = (*errs, 400, 422) if request is not None or params else errs
    if request is not None:
        codes = (*codes, 403, 413, 415)
    return extend_schema(
        operation_id=operation_id,
        tags=[TAG],
        description=description,
        request=request,
        parameters=[PAGE_ID, *params],
        responses={status: response, **_errors(*codes)},
    )


LIST_PARAMS = (
    OpenApiParameter("q", str, description="Only those whose name contains this."),
    OpenApiParameter("limit", int, description="At most this many (1 to 100, default 100)."),
    OpenApiParameter("per_page", int, description="The same as `limit` (Statuspage's name on some lists)."),
    OpenApiParameter("page", int, description="Which page of `limit` (from 1)."),
)
SUBSCRIBER_LIST_PARAMS = (
    OpenApiParameter("q", str, description="Only those whose address or endpoint contains this."),
    OpenApiParameter("limit", int, description="At most this many (1 to 100, default 100)."),
    OpenApiParameter(
        "page", int, description="Which page of `limit`, from 0 as in Statuspage (skips page × limit); default 0."
    ),
)

# --- Pages -----------------------------------------------------------------------------


def _page() -> dict:
    stamps = [
        Component.objects.order_by("-updated_at").values_list("updated_at", flat=True).first(),
        Incident.objects.filter(draft=False).order_by("-updated_at").values_list("updated_at", flat=True).first(),
        Maintenance.objects.order_by("-updated_at").values_list("updated_at", flat=True).first(),
    ]
    stamps = [s for s in stamps if s is not None]
    first = Component.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return formats.page_dict(updated_at=max(stamps) if stamps else timezone.now(), created_at=first)


class PagesApi(ManageApi):
    @extend_schema(
        operation_id="statuspage_manage_pages",
        tags=[TAG],
        description="The pages this key can manage: this console's one status page (Statuspage's page object).",
        responses={200: shapes.ManagePageSerializer(many=True), **_errors()},
    )
    def get(self, request):
        return Response([_page()])


class PageApi(ManageApi):
    @_schema("statuspage_manage_page", "The status page: Statuspage's page object.", shapes.ManagePageSerializer)
    def get(self, request, page_id):
        return Response(_page())


# --- Components --------------------------------------------------------------------------


def _components() -> tuple[list[Component], Lookup]:
    components = list(Component.objects.order_by("position", "name"))
    return components, formats.lookup(selectors.status_evaluate(cached=False), components)


def _component_objects(components: list[Component], found) -> list[dict]:
    children: dict[int, list[Component]] = {}
    for c in components:
        if c.group_id:
            children.setdefault(c.group_id, []).append(c)
    return [formats.component_dict(c, found, children.get(c.pk)) for c in components]


def _component(component_id: str) -> Component:
    component = Component.objects.filter(public_id=component_id).first()
    if component is None:
        raise exceptions.NotFound(f"No component {component_id!r} on this page.")
    return component


class ComponentsApi(ManageApi):
    @_schema(
        "statuspage_manage_components",
        "Every component (groups, hidden ones too), each with its evaluated status: the worst of its probe, "
        "the status set here and open incidents; under_maintenance during maintenance.",
        shapes.ManageComponentSerializer(many=True),
    )
    def get(self, request, page_id):
        components, found = _components()
        return Response(_component_objects(components, found))


class ComponentApi(ManageApi):
    def _answer(self, component_id: str) -> Response:
        components, found = _components()
        (mine,) = [c for c in components if c.public_id == component_id]
        return Response(_component_objects(components, found)[components.index(mine)])

    @_schema("statuspage_manage_component", "One component.", shapes.ManageComponentSerializer)
    def get(self, request, page_id, component_id):
        _component(component_id)
        return self._answer(component_id)

    @_schema(
        "statuspage_manage_component_update",
        "Update a component: `status` (Statuspage's component statuses; `operational` clears what was set) "
        "shows on /status, /api/v2/* and health as the worse of it and the probe; `name`, `description` and "
        "`only_show_if_degraded` change in place. A group's status is its components': setting it is a 422. "
        "A change of status is sent to the webhook subscribers of that component (`component_update`).",
        shapes.ManageComponentSerializer,
        request=shapes.ManageComponentRequestSerializer,
    )
    def patch(self, request, page_id, component_id):
        component = _component(component_id)
        data = self.body(shapes.ManageComponentRequestSerializer)
        if "status" in data and component.is_group:
            raise Refused("A group's status is the worst of its components': set theirs instead.")
        services.component_update(
            component=component,
            status=data.get("status"),
            name=data.get("name"),
            description=None if "description" not in data else (data["description"] or ""),
            only_show_if_degraded=data.get("only_show_if_degraded"),
            **self.actor,
        )
        return self._answer(component_id)

    @_schema(
        "statuspage_manage_component_replace",
        "Update a component (PUT: the same as PATCH, as in Statuspage).",
        shapes.ManageComponentSerializer,
        request=shapes.ManageComponentRequestSerializer,
    )
    def put(self, request, page_id, component_id):
        return self.patch(request, page_id, component_id)


# --- Incidents and scheduled maintenance -------------------------------------------------


def _resolve_components(data: dict, *, maintenance: bool) -> list[tuple[Component, str]] | None:
    """The affected components a body names (`component_ids` and the keys of
    `components`), a group standing for each of its components, with the
    status `components` gives each (else operational: affected, unchanged).
    None when the body names none."""
    if "component_ids" not in data and "components" not in data:
        return None
    statuses = data.get("components") or {}
    wanted = list(dict.fromkeys([*data.get("component_ids", []), *statuses]))
    if any("\x00" in w for w in wanted):
        raise Refused("components: a component id may not contain NUL characters.")
    found = {c.public_id: c for c in Component.objects.filter(public_id__in=wanted)}
    unknown = [w for w in wanted if w not in found]
    if unknown:
        raise Refused(f"Unknown component id(s): {', '.join(unknown)}.")
    resolved: dict[int, tuple[Component, str]] = {}
    for public_id in wanted:
        component = found[public_id]
        status = statuses.get(public_id, ComponentStatus.OPERATIONAL)
        if status == ComponentStatus.UNDER_MAINTENANCE and not maintenance:
            raise Refused(f"{public_id}: under_maintenance is for scheduled maintenance, not incidents.")
        members = list(component.children.filter(is_group=False)) if component.is_group else [component]
        for member in members:
            resolved[member.pk] = (member, str(status))
    return list(resolved.values())


def _incident_object(target: Incident | Maintenance) -> dict:
    _components_list, found = _components()
    if isinstance(target, Maintenance):
        return formats.maintenance_dict(target, found)
    return formats.incident_dict(target, found)


def _reload(target: Incident | Maintenance) -> Incident | Maintenance:
    return selectors.incident_or_maintenance(target.public_id)


def _target(incident_id: str) -> Incident | Maintenance:
    target = selectors.incident_or_maintenance(incident_id)
    if target is None:
        raise exceptions.NotFound(f"No incident {incident_id!r} on this page.")
    return target


def _listing(request, *, incidents=None, maintenances=None, upcoming: bool = False) -> Response:
    """Incidents and/or maintenances, newest first (upcoming: soonest first)."""
    q = request.query_params.get("q", "")
    limit = _page_size(request)
    page = _query_int(request, "page", 1)
    _components_list, found = _components()
    rows: list[tuple] = []
    if incidents is not False:
        for i in selectors.manage_incidents(statuses=incidents, q=q, limit=limit * page):
            rows.append((i.created_at, formats.incident_dict(i, found)))
    if maintenances is not False:
        after = timezone.now() if upcoming else None
        for m in selectors.manage_maintenances(statuses=maintenances, q=q, limit=limit * page, upcoming_after=after):
            rows.append((m.scheduled_for if upcoming else m.created_at, formats.maintenance_dict(m, found)))
    rows.sort(key=lambda row: row[0], reverse=not upcoming)
    return Response([data for _at, data in rows[(page - 1) * limit : page * limit]])


class IncidentsApi(ManageApi):
    @_schema(
        "statuspage_manage_incidents",
        "Every incident and scheduled maintenance, newest first (drafts made by on-call alerts are not shown "
        "until published).",
        shapes.ManageIncidentSerializer(many=True),
        params=LIST_PARAMS,
    )
    def get(self, request, page_id):
        return _listing(request)

    @_schema(
        "statuspage_manage_incident_create",
        "Create an incident: `name`, `status` (default investigating), `body` (the first update), "
        "`component_ids` and `components` ({id: status}: the affected components and their statuses; a group "
        "stands for its components), `impact_override` (else computed from the components), "
        "`deliver_notifications` (default true: subscribers are emailed). With a maintenance status "
        "(`scheduled`, with `scheduled_for` and `scheduled_until`) it creates a scheduled maintenance, "
        "started and completed on time unless `scheduled_auto_in_progress` / `scheduled_auto_completed` are false.",
        shapes.ManageIncidentSerializer,
        status=201,
        request=shapes.ManageIncidentRequestSerializer,
    )
    def post(self, request, page_id):
        data = self.body(shapes.ManageIncidentRequestSerializer)
        if not data.get("name"):
            raise exceptions.ValidationError({"incident": {"name": ["This field is required."]}})
        status = data.get("status") or "investigating"
        scheduled = status in MaintenanceStatus.values
        components = _resolve_components(data, maintenance=scheduled) or []
        try:
            if scheduled:
                target = manage.maintenance_open(
                    name=data["name"],
                    body=data.get("body", ""),
                    status=status,
                    scheduled_for=data.get("scheduled_for"),
                    scheduled_until=data.get("scheduled_until"),
                    components=[c for c, _s in components],
                    auto_start=data.get("scheduled_auto_in_progress", data.get("scheduled_auto_transition", True)),
                    auto_complete=data.get("scheduled_auto_completed", True),
                    notify=data["deliver_notifications"],
                    **self.actor,
                )
            else:
                target = manage.incident_open(
                    name=data["name"],
                    status=status,
                    body=data.get("body", ""),
                    components=components,
                    impact=data.get("impact_override"),
                    notify=data["deliver_notifications"],
                    **self.actor,
                )
        except manage.Refused as exc:
            raise Refused(str(exc)) from None
        return Response(_incident_object(_reload(target)), status=201)


class _IncidentListApi(ManageApi):
    kind: dict = {}

    def get(self, request, page_id):
        return _listing(request, **self.kind)


class UnresolvedIncidentsApi(_IncidentListApi):
    kind = {"incidents": list(UNRESOLVED), "maintenances": False}

    @_schema(
        "statuspage_manage_incidents_unresolved",
        "Incidents that are investigating, identified or monitoring.",
        shapes.ManageIncidentSerializer(many=True),
        params=LIST_PARAMS,
    )
    def get(self, request, page_id):
        return super().get(request, page_id)


class ScheduledIncidentsApi(_IncidentListApi):
    kind = {"incidents": False}

    @_schema(
        "statuspage_manage_incidents_scheduled",
        "Every scheduled maintenance, whatever its status, newest first.",
        shapes.ManageIncidentSerializer(many=True),
        params=LIST_PARAMS,
    )
    def get(self, request, page_id):
        return super().get(request, page_id)


class UpcomingIncidentsApi(_IncidentListApi):
    kind = {"incidents": False, "maintenances": [MaintenanceStatus.SCHEDULED], "upcoming": True}

    @_schema(
        "statuspage_manage_incidents_upcoming",
        "Scheduled maintenances that have not started and whose window is ahead, soonest first.",
        shapes.ManageIncidentSerializer(many=True),
        params=LIST_PARAMS,
    )
    def get(self, request, page_id):
        return super().get(request, page_id)


class ActiveMaintenanceApi(_IncidentListApi):
    kind = {"incidents": False, "maintenances": list(ACTIVE_MAINTENANCE)}

    @_schema(
        "statuspage_manage_incidents_active_maintenance",
        "Scheduled maintenances in progress or being verified.",
        shapes.ManageIncidentSerializer(many=True),
        params=LIST_PARAMS,
    )
    def get(self, request, page_id):
        return super().get(request, page_id)


class IncidentApi(ManageApi):
    @_schema("statuspage_manage_incident", "One incident or scheduled maintenance.", shapes.ManageIncidentSerializer)
    def get(self, request, page_id, incident_id):
        return Response(_incident_object(_target(incident_id)))

    @_schema(
        "statuspage_manage_incident_update",
        "Update an incident: a new `status` and/or a `body` post an update (emailed when "
        "`deliver_notifications`, default true; resolving always is), `resolved` resolves it; `component_ids` "
        "replaces the affected components, `components` ({id: status}) sets their statuses; `name` and "
        "`impact_override` change in place. On a scheduled maintenance: its window, name, automation and "
        "components change in place, a new status (forward only) posts an update, and a `body` without a new "
        "status posts an update with the same status (told to subscribers unless `deliver_notifications` is "
        "false).",
        shapes.ManageIncidentSerializer,
        request=shapes.ManageIncidentRequestSerializer,
    )
    def patch(self, request, page_id, incident_id):
        target = _target(incident_id)
        data = self.body(shapes.ManageIncidentRequestSerializer)
        try:
            if isinstance(target, Maintenance):
                target = self._maintenance(target, data)
            else:
                target = self._incident(target, data)
        except manage.Refused as exc:
            raise Refused(str(exc)) from None
        return Response(_incident_object(_reload(target)))

    def _incident(self, incident: Incident, data: dict) -> Incident:
        components = _resolve_components(data, maintenance=False)
        if components is not None and "component_ids" not in data:
            # `components` alone changes the statuses of the ones it names; the others stay affected.
            current = {a.component_id: (a.component, a.status) for a in incident.affected.select_related("component")}
            current.update({c.pk: (c, s) for c, s in components})
            components = list(current.values())
        return manage.incident_change(
            incident=incident,
            name=data.get("name"),
            impact=data.get("impact_override"),
            status=data.get("status"),
            body=data.get("body"),
            components=components,
            notify=data["deliver_notifications"],
            **self.actor,
        )

    def _maintenance(self, maintenance: Maintenance, data: dict) -> Maintenance:
        fields = {name: data[name] for name in ("name", "scheduled_for", "scheduled_until") if name in data}
        auto_start = data.get("scheduled_auto_in_progress", data.get("scheduled_auto_transition"))
        if auto_start is not None:
            fields["auto_start"] = auto_start
        if "scheduled_auto_completed" in data:
            fields["auto_complete"] = data["scheduled_auto_completed"]
        components = _resolve_components(data, maintenance=True)
        return manage.maintenance_change(
            maintenance=maintenance,
            fields=fields,
            status=data.get("status"),
            body=data.get("body"),
            components=None if components is None else [c for c, _s in components],
            notify=data["deliver_notifications"],
            **self.actor,
        )

    @_schema(
        "statuspage_manage_incident_replace",
        "Update an incident (PUT: the same as PATCH, as in Statuspage).",
        shapes.ManageIncidentSerializer,
        request=shapes.ManageIncidentRequestSerializer,
    )
    def put(self, request, page_id, incident_id):
        return self.patch(request, page_id, incident_id)

    @_schema(
        "statuspage_manage_incident_delete",
        "Delete an incident or scheduled maintenance with its updates; answers with what was deleted.",
        shapes.ManageIncidentSerializer,
        errs=(403,),
    )
    def delete(self, request, page_id, incident_id):
        target = _target(incident_id)
        data = _incident_object(target)
        if isinstance(target, Maintenance):
            services.maintenance_delete(maintenance=target, **self.actor)
        else:
            services.incident_delete(incident=target, **self.actor)
        return Response(data)


# --- Subscribers (email and webhook) -------------------------------------------------------

SUBSCRIBER_STATES = selectors.SUBSCRIBER_STATES
SUBSCRIBER_TYPES = ("email", "sms", "webhook", "slack", "teams", "integration_partner")
OURS = ("email", "webhook")  # the types Levqor has; the others list nothing


def _visible_component_ids() -> list[str]:
    return [c.public_id for c in subscriptions.choosable_components()]


def _subscriber(subscriber_id: str) -> Subscriber | WebhookSubscriber:
    key = formats.subscriber_key(subscriber_id)
    subscriber = selectors.manage_subscriber(kind=key[0], key=key[1]) if key else None
    if subscriber is None:
        raise exceptions.NotFound(f"No subscriber {subscriber_id!r} on this page.")
    return subscriber


def _subscriber_object(subscriber: Subscriber | WebhookSubscriber, visible: list[str] | None = None) -> dict:
    return formats.subscriber_dict(subscriber, component_ids=_visible_component_ids() if visible is None else visible)


def _chosen_components(data: dict) -> list[Component] | None:
    """The components a new subscriber chose (`component_ids`): known,
    shown on the page, a group standing for its visible components. None
    when it names none (all)."""
    if "component_ids" not in data:
        return None
    wanted = list(dict.fromkeys(data["component_ids"]))
    if not wanted:
        raise Refused("component_ids: give at least one component, or leave it out for all of them.")
    found = {c.public_id: c for c in Component.objects.filter(public_id__in=wanted)}
    unknown = [w for w in wanted if w not in found]
    if unknown:
        raise Refused(f"Unknown component id(s): {', '.join(unknown)}.")
    hidden = [w for w in wanted if found[w].hidden]
    if hidden:
        raise Refused(
            f"component_ids: hidden from the status page, so subscribers cannot choose them: {', '.join(hidden)}."
        )
    choosable = subscriptions.choosable_components()
    chosen: dict[int, Component] = {}
    for public_id in wanted:
        component = found[public_id]
        members = list(choosable.filter(group=component)) if component.is_group else [component]
        if not members:
            raise Refused(f"component_ids: the group {public_id} has no component shown on the status page.")
        chosen.update((m.pk, m) for m in members)
    return list(chosen.values())


class SubscribersApi(ManageApi):
    @_schema(
        "statuspage_manage_subscribers",
        "Subscribers, oldest first: email subscribers (`mode: email`) and webhook subscribers (`mode: webhook`, "
        "`endpoint` set, `email` their owner's). `type`: email or webhook (default: every type; sms, slack, "
        "teams and integration_partner list nothing). `state`: active (default), unconfirmed, unsubscribed, "
        "quarantined (webhooks disabled after repeated failures, `quarantined_at` set) or all. `q` searches the "
        "address and a webhook's endpoint. `components` are the ones each chose, or every visible component "
        "when it chose none (all, including any added later).",
        shapes.ManageSubscriberSerializer(many=True),
        params=(
            OpenApiParameter("state", str, enum=SUBSCRIBER_STATES, description="Default active."),
            OpenApiParameter("type", str, enum=SUBSCRIBER_TYPES, description="Default: every type."),
            *SUBSCRIBER_LIST_PARAMS,
        ),
    )
    def get(self, request, page_id):
        state = request.query_params.get("state") or "active"
        kind = request.query_params.get("type") or None
        if state not in SUBSCRIBER_STATES:
            raise exceptions.ParseError(f"state: use one of {', '.join(SUBSCRIBER_STATES)}.")
        if kind is not None and kind not in SUBSCRIBER_TYPES:
            raise exceptions.ParseError(f"type: use one of {', '.join(SUBSCRIBER_TYPES)}.")
        subscribers = selectors.manage_subscribers(
            kinds=OURS if not kind else [kind],
            state=state,
            q=request.query_params.get("q", ""),
            limit=_query_int(request, "limit", 100, maximum=100),
            # Statuspage counts the subscribers' pages from 0 (page * limit are skipped).
            page=_query_int(request, "page", 0, minimum=0) + 1,
        )
        visible = _visible_component_ids()
        return Response([_subscriber_object(s, visible) for s in subscribers])

    @_schema(
        "statuspage_manage_subscriber_create",
        'Add a subscriber. Email: `{"email", "component_ids"}`; the address is sent a confirmation link and '
        "gets notices once it confirms (double opt-in, whatever `skip_confirmation_notification` says). "
        'Webhook: `{"endpoint", "email", "component_ids"}`, `email` being the owner\'s: as on the public '
        "form, the owner is emailed a confirmation link and nothing is POSTed before it is followed (the "
        "confirmation page shows the signing secret once); https only, no credentials in the URL, no private "
        "address (else 422 with the reason). `component_ids` are the components it hears about (a group stands "
        "for its visible components; hidden ones are a 422); omitted means every component, including any added "
        "later. An address or endpoint already subscribed is answered as it is (its owner changes its choice "
        "from the emailed manage link). SMS subscribers: 422.",
        shapes.ManageSubscriberSerializer,
        status=201,
        request=shapes.ManageSubscriberRequestSerializer,
    )
    def post(self, request, page_id):
        data = self.body(shapes.ManageSubscriberRequestSerializer)
        if data.get("phone_number") or data.get("phone_country"):
            raise Refused("SMS subscribers are not supported: add an email or webhook subscriber.")
        if not data.get("email"):
            needed = (
                "the owner's address (they confirm the webhook)" if data.get("endpoint") else "This field is required."
            )
            raise exceptions.ValidationError({"subscriber": {"email": [needed]}})
        components = _chosen_components(data)
        if data.get("endpoint"):
            try:
                subscriber = services.webhook_subscriber_subscribe(
                    endpoint=data["endpoint"], email=data["email"], components=components or ()
                )
            except ValueError as exc:
                raise Refused(f"endpoint: {exc}") from None
        else:
            subscriber = services.subscriber_subscribe(email=data["email"], components=components)
        return Response(_subscriber_object(_subscriber(formats.subscriber_id(subscriber))), status=201)


class SubscriberApi(ManageApi):
    @_schema(
        "statuspage_manage_subscriber",
        "One subscriber: an email subscriber's number, or a webhook subscriber's `wh_…` id.",
        shapes.ManageSubscriberSerializer,
    )
    def get(self, request, page_id, subscriber_id):
        return Response(_subscriber_object(_subscriber(subscriber_id)))

    @_schema(
        "statuspage_manage_subscriber_delete",
        "Unsubscribe a subscriber, email or webhook (it is sent nothing more; a webhook's waiting deliveries are "
        "given up); answers with the subscriber.",
        shapes.ManageSubscriberSerializer,
        errs=(403,),
    )
    def delete(self, request, page_id, subscriber_id):
        subscriber = _subscriber(subscriber_id)
        if isinstance(subscriber, WebhookSubscriber):
            services.webhook_subscriber_unsubscribe(subscriber=subscriber, **self.actor)
        else:
            services.subscriber_remove(subscriber=subscriber, **self.actor)
        return Response(_subscriber_object(_subscriber(subscriber_id)))


@csrf_exempt
def json_suffix(request, path: str):
    """`/api/v1/….json`: Statuspage answers its paths with a `.json` suffix
    too (older scripts and its first reference use it); the same view answers."""
    try:
        match = resolve(f"/api/v1/{path}")
    except Resolver404:
        match = None
    if match is None or match.namespace != "status" or not match.url_name.startswith("v1_"):
        return JsonResponse({"error": "No API endpoint or resource at this path."}, status=404)
    return match.func(request, *match.args, **match.kwargs)
