"""The Dashboards API under /api/dashboards: dashboards, their elements, each element's numbers.

Any token whose client holds the ``dashboards`` grant (a user token carries it only for an admin, a monitor or a
compliance officer). A user token sees the user's dashboards and the company's shared ones and changes only the
user's own; a generic token (no person) reads the shared ones and changes nothing, since a dashboard belongs to a
person. Another company's dashboard, or someone else's private one, is a 404 like a missing one.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.audit.services import Actor
from apps.dashboards import selectors, services
from apps.dashboards.api import serializers as s
from apps.dashboards.data import element_data
from apps.dashboards.models import Dashboard, Element
from apps.oauth.authentication import BearerContext
from apps.oauth.grants import DASHBOARDS
from apps.oauth.permissions import HasAccessToken, RequiresGrant, bearer_context
from apps.users_api.pagination import paginate
from apps.users_api.serializers import ProblemSerializer

PROBLEM = "application/problem+json"
_PROBLEM_TEXT = {
    400: "Invalid input: `errors` names each bad field (unknown ones included).",
    401: "Missing, invalid, expired or revoked bearer token.",
    403: "The token lacks the `dashboards` grant (a user token carries it only for an admin, monitor or compliance "
    "officer), or the change needs the dashboard's owner (a user token of its owner).",
    404: "No such dashboard or element for this token: another company's, or someone else's private one.",
    405: "Method not allowed.",
    415: "The body is not JSON.",
}


def problems(*statuses: int) -> dict:
    return {(code, PROBLEM): OpenApiResponse(ProblemSerializer, description=_PROBLEM_TEXT[code]) for code in statuses}


READ_ERRORS = problems(400, 401, 403, 404, 405)
WRITE_ERRORS = problems(400, 401, 403, 404, 405, 415)
DASHBOARD_ID = OpenApiParameter("dashboard_id", str, OpenApiParameter.PATH, description="The dashboard's id.")
ELEMENT_ID = OpenApiParameter("element_id", str, OpenApiParameter.PATH, description="The element's id.")
TAGS = ["Dashboards"]


class DashboardsAPIView(APIView):
    permission_classes = [HasAccessToken, RequiresGrant(DASHBOARDS)]

    @property
    def bearer(self) -> BearerContext:
        return bearer_context(self.request)

    def actor(self) -> Actor:
        return Actor.from_request(self.request, user=self.bearer.user, client=self.bearer.client)

    def dashboard(self, public_id: str) -> Dashboard:
        try:
            return selectors.get_dashboard_for(company=self.bearer.company, user=self.bearer.user, public_id=public_id)
        except Http404:
            raise exceptions.NotFound("No dashboard with this id.") from None

    def element(self, public_id: str) -> Element:
        try:
            return selectors.get_element_for(company=self.bearer.company, user=self.bearer.user, public_id=public_id)
        except Http404:
            raise exceptions.NotFound("No element with this id.") from None

    def owned(self, dashboard: Dashboard) -> None:
        if self.bearer.user is None:
            raise exceptions.PermissionDenied("Dashboards belong to a person: change them with a user token.")
        try:
            services.ensure_owner(dashboard, self.bearer.user)
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None

    def element_values(self, data: dict) -> dict:
        """Wire fields -> service arguments; ids are looked up in the token's company (another's is a 400)."""
        values = {name: data[wire] for wire, name in s.ELEMENT_WIRE.items() if wire in data}
        company = self.bearer.company
        lookups = (
            ("agentId", "agent", Agent.objects.for_company(company).alive(), "public_id"),
            ("groupId", "group", Group.objects.for_company(company), "pk"),
            ("userId", "user", ApplicationUser.objects.for_company(company), "userid"),
        )
        errors = {}
        for wire, name, queryset, field in lookups:
            if wire not in data:
                continue
            if data[wire] in (None, ""):
                values[name] = None
                continue
            found = queryset.filter(**{field: data[wire]}).first()
            if found is None:
                errors[wire] = [f"No {name} with this id in your company."]
            values[name] = found
        if errors:
            raise exceptions.ValidationError(errors)
        return values


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _service_errors(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        wire = {name: wire for wire, name in s.ELEMENT_WIRE.items()}
        return exceptions.ValidationError({wire.get(k, k): v for k, v in exc.message_dict.items()})
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class DashboardListView(DashboardsAPIView):
    @extend_schema(
        operation_id="ListDashboards",
        tags=TAGS,
        summary="List the dashboards the token may see",
        description="A user token: the user's dashboards and the company's shared ones; a generic token: the shared "
        "ones. Ordered by name.",
        parameters=[s.DashboardListQuerySerializer],
        responses={200: s.DashboardPageSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = s.DashboardListQuerySerializer.validated_query(request.query_params)
        visible = selectors.dashboards_visible(company=self.bearer.company, user=self.bearer.user)
        page = paginate(visible.order_by("name", "id"), page=query["page"], page_size=query["pageSize"])
        body = page.body([s.dashboard_representation(d, user=self.bearer.user) for d in page.items])
        return Response(body, headers={"Link": page.link_header(request)})

    @extend_schema(
        operation_id="CreateDashboard",
        tags=TAGS,
        summary="Create a dashboard (a user token: the user owns it)",
        request=s.DashboardInputSerializer,
        responses={201: s.DashboardDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.DashboardInputSerializer, request.data)
        if self.bearer.user is None:
            raise exceptions.PermissionDenied("Dashboards belong to a person: create them with a user token.")
        try:
            dashboard = services.dashboard_create(
                company=self.bearer.company,
                actor=self.actor(),
                owner=self.bearer.user,
                name=data["name"],
                shared=data.get("shared", False),
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        body = s.dashboard_representation(dashboard, user=self.bearer.user, elements=[])
        return Response(body, status=status.HTTP_201_CREATED)


class DashboardDetailView(DashboardsAPIView):
    @extend_schema(
        operation_id="GetDashboard",
        tags=TAGS,
        summary="A dashboard with its elements",
        parameters=[DASHBOARD_ID],
        responses={200: s.DashboardDetailSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, dashboard_id: str) -> Response:
        dashboard = self.dashboard(dashboard_id)
        elements = list(selectors.elements_of(dashboard))
        return Response(s.dashboard_representation(dashboard, user=self.bearer.user, elements=elements))

    @extend_schema(
        operation_id="UpdateDashboard",
        tags=TAGS,
        summary="Rename or share a dashboard (its owner)",
        parameters=[DASHBOARD_ID],
        request=s.DashboardUpdateSerializer,
        responses={200: s.DashboardDetailSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, dashboard_id: str) -> Response:
        dashboard = self.dashboard(dashboard_id)
        data = _validated(s.DashboardUpdateSerializer, request.data)
        self.owned(dashboard)
        try:
            services.dashboard_update(
                company=self.bearer.company,
                actor=self.actor(),
                dashboard=dashboard,
                name=data.get("name"),
                shared=data.get("shared"),
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        elements = list(selectors.elements_of(dashboard))
        return Response(s.dashboard_representation(dashboard, user=self.bearer.user, elements=elements))

    @extend_schema(
        operation_id="DeleteDashboard",
        tags=TAGS,
        summary="Delete a dashboard and its elements (its owner)",
        parameters=[DASHBOARD_ID],
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, dashboard_id: str) -> Response:
        dashboard = self.dashboard(dashboard_id)
        self.owned(dashboard)
        services.dashboard_delete(company=self.bearer.company, actor=self.actor(), dashboard=dashboard)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardElementsView(DashboardsAPIView):
    @extend_schema(
        operation_id="AddDashboardElement",
        tags=TAGS,
        summary="Add an element at the end of a dashboard (its owner)",
        description="Which settings apply depends on `kind`: top_n (subject, measure, limit), chart (chartType; "
        "line/bar: measure, interval, split; doughnut: category, measure), totals (none), map (mapMeasure); every "
        "kind: title, width, period (startDate/endDate for custom) and the filters agentId, groupId, userId, "
        "channel. The others are ignored.",
        parameters=[DASHBOARD_ID],
        request=s.ElementCreateSerializer,
        responses={201: s.ElementOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, dashboard_id: str) -> Response:
        dashboard = self.dashboard(dashboard_id)
        data = _validated(s.ElementCreateSerializer, request.data)
        self.owned(dashboard)
        values = self.element_values(data)
        try:
            element = services.element_create(
                company=self.bearer.company, actor=self.actor(), dashboard=dashboard, kind=data["kind"], **values
            )
            if "position" in data:
                services.element_move(
                    company=self.bearer.company, actor=self.actor(), element=element, to=data["position"]
                )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        element.refresh_from_db()
        return Response(s.element_representation(element), status=status.HTTP_201_CREATED)


class ElementDetailView(DashboardsAPIView):
    @extend_schema(
        operation_id="GetDashboardElement",
        tags=TAGS,
        summary="An element's settings",
        parameters=[ELEMENT_ID],
        responses={200: s.ElementOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, element_id: str) -> Response:
        return Response(s.element_representation(self.element(element_id)))

    @extend_schema(
        operation_id="UpdateDashboardElement",
        tags=TAGS,
        summary="Change an element, or move it with `position` (the dashboard's owner)",
        parameters=[ELEMENT_ID],
        request=s.ElementSettingsSerializer,
        responses={200: s.ElementOutputSerializer, **WRITE_ERRORS},
    )
    def patch(self, request: Request, element_id: str) -> Response:
        element = self.element(element_id)
        data = _validated(s.ElementSettingsSerializer, request.data)
        self.owned(element.dashboard)
        values = self.element_values(data)
        try:
            if values:
                services.element_update(company=self.bearer.company, actor=self.actor(), element=element, **values)
            if "position" in data:
                services.element_move(
                    company=self.bearer.company, actor=self.actor(), element=element, to=data["position"]
                )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        element.refresh_from_db()
        return Response(s.element_representation(element))

    @extend_schema(
        operation_id="DeleteDashboardElement",
        tags=TAGS,
        summary="Remove an element (the dashboard's owner)",
        parameters=[ELEMENT_ID],
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request, element_id: str) -> Response:
        element = self.element(element_id)
        self.owned(element.dashboard)
        services.element_delete(company=self.bearer.company, actor=self.actor(), element=element)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ElementDataView(DashboardsAPIView):
    @extend_schema(
        operation_id="GetDashboardElementData",
        tags=TAGS,
        summary="An element's numbers for its period",
        description="The same JSON the dashboard page draws. Every kind: id, kind, title, period, filters. top_n: "
        "subject, measure, unit, rows [{label, value}]. chart (line/bar): measure, interval, labels, buckets, "
        "datasets [{label, data}]; chart (doughnut): category, labels, values. totals: previous_period, metrics "
        "[{key, label, value, previous, change, change_text}]. map: measure, countries [{code, name, value}], "
        "internal, max.",
        parameters=[ELEMENT_ID],
        responses={200: s.ElementDataSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, element_id: str) -> Response:
        return Response(element_data(self.element(element_id)))
