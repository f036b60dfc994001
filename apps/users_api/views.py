"""The scoped Users and Groups API. Thin views: parse, authorize, call a selector or service, shape the answer.

The company always comes from the bearer token; ids sent by the caller are looked up inside that company only,
so another company's user or group is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import ApplicationUser, Group
from apps.audit.services import Actor
from apps.oauth.authentication import BearerContext
from apps.oauth.permissions import bearer_context
from apps.users_api import serializers as s
from apps.users_api.pagination import Page, paginate
from apps.users_api.permissions import READ_PERMISSIONS, WRITE_PERMISSIONS

# Service refusals that are about the state of the data rather than the request's shape.
CONFLICT_CODES = frozenset({"duplicate_email", "duplicate_name", "last_admin"})


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the data."
    default_code = "conflict"


@contextmanager
def service_errors() -> Iterator[None]:
    """Service ValidationErrors as API errors: 409 for conflicts, 400 (fields under ``errors``) otherwise."""
    try:
        yield
    except DjangoValidationError as exc:
        if getattr(exc, "code", None) in CONFLICT_CODES:
            raise Conflict(exc.messages[0]) from None
        if hasattr(exc, "error_dict"):
            raise exceptions.ValidationError(exc.message_dict) from None
        raise exceptions.ValidationError({"non_field_errors": exc.messages}) from None


def validated(serializer_class: type[s.StrictInputSerializer], data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def find_user(context: BearerContext, userid: str) -> dict:
    """The user as a selector row."""
    try:
        return selectors.get_user_row_for_company(context.company, userid)
    except Http404:
        raise exceptions.NotFound("No user with this userid.") from None


def find_user_object(context: BearerContext, userid: str) -> ApplicationUser:
    try:
        return selectors.get_user_for_company(context.company, userid)
    except Http404:
        raise exceptions.NotFound("No user with this userid.") from None


def user_body(context: BearerContext, userid: str) -> dict:
    return s.user_representations([find_user(context, userid)])[0]


def find_group(context: BearerContext, group_id: int) -> Group:
    try:
        return selectors.get_group_for_company_api(context.company, group_id)
    except Http404:
        raise exceptions.NotFound(f"No group with id {group_id}.") from None


# Schema fragments shared by the endpoints.
PROBLEM = "application/problem+json"
_PROBLEM_TEXT = {
    400: "Invalid input: `errors` names each bad field or parameter (unknown ones included).",
    401: 'Missing, invalid, expired or revoked bearer token (`WWW-Authenticate: Bearer error="invalid_token"`).',
    403: "The token lacks the grant the operation needs (`users:read` to read, `users:write` to write), or a user "
    "token's user is not a company admin (writes); `detail` says what is missing and `WWW-Authenticate` names the "
    'grant (`Bearer error="insufficient_scope", scope="users:write"`).',
    404: "No such user or group in the token's company (another company's ids are not found either).",
    405: "Method not allowed.",
    409: "Conflict with the current data (duplicate email or group name, or the company's last admin).",
    415: "The body is not JSON.",
}


def problems(*statuses: int) -> dict:
    return {(code, PROBLEM): OpenApiResponse(s.ProblemSerializer, description=_PROBLEM_TEXT[code]) for code in statuses}


LINK_HEADER = OpenApiParameter(
    "Link",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200],
    description='RFC 8288 links to the first, previous, next and last pages, e.g. `<…?page=2>; rel="next"`.',
)
READ_ERRORS = problems(400, 401, 403, 405)
WRITE_NOTE = (
    "Needs the `users:write` grant: a generic token of a client that has it, or a user token of a company admin "
    "from such a client."
)
WRITE_ERRORS = problems(400, 401, 403, 404, 405, 409, 415)


class TenantAPIView(APIView):
    """A token with the ``users:read`` grant may read; writes need ``users:write`` (see permissions.py)."""

    permission_classes = READ_PERMISSIONS

    @property
    def bearer(self) -> BearerContext:
        return bearer_context(self.request)

    def actor(self) -> Actor:
        return Actor.from_request(self.request, user=self.bearer.user, client=self.bearer.client)


class WriteAPIView(TenantAPIView):
    permission_classes = WRITE_PERMISSIONS


_LIST_USERS_SCHEMA = {
    "tags": ["Users"],
    "description": "Any token of the company with the `users:read` grant. Ordered by creation time, then "
    "userid. A page past the end has an empty `data`.",
    "parameters": [s.UserListQuerySerializer, LINK_HEADER],
    "responses": {200: s.UserPageOutputSerializer, **READ_ERRORS},
}


class ListUsersView(TenantAPIView):
    @extend_schema(operation_id="ListUsers", summary="List the company's users", **_LIST_USERS_SCHEMA)
    def get(self, request: Request) -> Response:
        query = s.UserListQuerySerializer.validated_query(request.query_params)
        number, size = query["page"], query["pageSize"]
        rows, total = selectors.user_api_page(
            company=self.bearer.company,
            search=query.get("search"),
            role=query.get("role"),
            active=query.get("active"),
            offset=(number - 1) * size,
            limit=size,
        )
        page = Page(items=rows, page=number, page_size=size, total=total)
        body = page.body(s.user_representations(page.items))
        return Response(body, headers={"Link": page.link_header(request)})


class ListUsersShortView(ListUsersView):
    @extend_schema(
        operation_id="ListUsersShort", summary="List the company's users (short spelling)", **_LIST_USERS_SCHEMA
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class GetUserView(TenantAPIView):
    @extend_schema(
        operation_id="GetUser",
        tags=["Users"],
        summary="One user of the company",
        description="Any token of the company with the `users:read` grant.",
        parameters=[s.UserIdQuerySerializer],
        responses={200: s.UserOutputSerializer, **problems(400, 401, 403, 404, 405)},
    )
    def get(self, request: Request) -> Response:
        query = s.UserIdQuerySerializer.validated_query(request.query_params)
        return Response(user_body(self.bearer, query["userid"]))


class CreateUserView(WriteAPIView):
    @extend_schema(
        operation_id="CreateUser",
        tags=["Users"],
        summary="Create a user in the company",
        description=WRITE_NOTE,
        request=s.CreateUserInputSerializer,
        responses={201: s.UserOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.CreateUserInputSerializer, request.data)
        groups = [find_group(self.bearer, group_id) for group_id in dict.fromkeys(data.get("groups", []))]
        with service_errors():
            user = services.user_create(
                company=self.bearer.company,
                email=data["email"],
                name=data["name"],
                roles=data.get("roles"),
                groups=groups,
                actor=self.actor(),
            )
        return Response(user_body(self.bearer, user.userid), status=status.HTTP_201_CREATED)


class MembershipView(WriteAPIView):
    def post(self, request: Request) -> Response:
        data = validated(s.MembershipInputSerializer, request.data)
        user = find_user_object(self.bearer, data["userid"])
        group = find_group(self.bearer, data["groupId"])
        with service_errors():
            self.change(group=group, user=user, actor=self.actor())
        return Response(user_body(self.bearer, user.userid))

    def change(self, *, group: Group, user: ApplicationUser, actor: Actor) -> None:
        raise NotImplementedError


_MEMBERSHIP_SCHEMA = {
    "tags": ["Users"],
    "description": WRITE_NOTE,
    "request": s.MembershipInputSerializer,
    "responses": {200: s.UserOutputSerializer, **WRITE_ERRORS},
}


class AddUserToGroupView(MembershipView):
    @extend_schema(
        operation_id="AddUserToGroup",
        summary="Add a user to a group (idempotent); returns the user",
        **_MEMBERSHIP_SCHEMA,
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def change(self, *, group: Group, user: ApplicationUser, actor: Actor) -> None:
        services.group_add_member(group=group, user=user, actor=actor)


class RemoveUserFromGroupView(MembershipView):
    @extend_schema(
        operation_id="RemoveUserFromGroup",
        summary="Remove a user from a group (idempotent); returns the user",
        **_MEMBERSHIP_SCHEMA,
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def change(self, *, group: Group, user: ApplicationUser, actor: Actor) -> None:
        services.group_remove_member(group=group, user=user, actor=actor)


class DeleteUserView(WriteAPIView):
    @extend_schema(
        operation_id="DeleteUser",
        tags=["Users"],
        summary="Delete a user; their tokens stop working at once",
        description=f"{WRITE_NOTE} Refused with 409 for the company's last active admin.",
        parameters=[s.UserIdQuerySerializer],
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request) -> Response:
        query = s.UserIdQuerySerializer.validated_query(request.query_params)
        user = find_user_object(self.bearer, query["userid"])
        with service_errors():
            services.user_delete(user=user, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListGroupsView(TenantAPIView):
    @extend_schema(
        operation_id="ListGroups",
        tags=["Groups"],
        summary="List the company's groups",
        description="Any token of the company with the `users:read` grant. Ordered by name. A page past the end "
        "has an empty `data`.",
        parameters=[s.GroupListQuerySerializer, LINK_HEADER],
        responses={200: s.GroupPageOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = s.GroupListQuerySerializer.validated_query(request.query_params)
        groups = selectors.group_api_list(company=self.bearer.company, search=query.get("search"))
        page = paginate(groups, page=query["page"], page_size=query["pageSize"])
        body = page.body([s.group_representation(group) for group in page.items])
        return Response(body, headers={"Link": page.link_header(request)})


class CreateGroupView(WriteAPIView):
    @extend_schema(
        operation_id="CreateGroup",
        tags=["Groups"],
        summary="Create a group in the company",
        description=WRITE_NOTE,
        request=s.CreateGroupInputSerializer,
        responses={201: s.GroupOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.CreateGroupInputSerializer, request.data)
        with service_errors():
            group = services.group_create(company=self.bearer.company, name=data["name"], actor=self.actor())
        return Response(s.group_representation(group), status=status.HTTP_201_CREATED)


class DeleteGroupView(WriteAPIView):
    @extend_schema(
        operation_id="DeleteGroup",
        tags=["Groups"],
        summary="Delete a group (its members stay)",
        description=WRITE_NOTE,
        parameters=[s.GroupIdQuerySerializer],
        responses={204: None, **WRITE_ERRORS},
    )
    def delete(self, request: Request) -> Response:
        query = s.GroupIdQuerySerializer.validated_query(request.query_params)
        group = find_group(self.bearer, query["groupId"])
        with service_errors():
            services.group_delete(group=group, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)
