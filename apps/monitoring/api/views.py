"""The Monitoring API: alert rules and issues, under ``/api/monitoring/``.

Needs the ``monitoring`` grant: a generic token of a client that holds it acts for the client's company; a user
token carries it only for a monitor or a company admin. The company comes from the token; a rule or issue id of
another company is a 404 exactly like a missing one, and ids inside a body (agents, groups, users, the assignee)
are looked up in the token's company only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.audit.services import Actor
from apps.monitoring import selectors, services
from apps.monitoring.api import serializers as s
from apps.monitoring.models import AlertRule, Issue
from apps.oauth.authentication import BearerContext
from apps.oauth.grants import MONITORING
from apps.oauth.permissions import HasAccessToken, RequiresGrant, bearer_context
from apps.users_api.pagination import Page, paginate
from apps.users_api.serializers import ProblemSerializer
from apps.users_api.views import LINK_HEADER, PROBLEM

TAGS = ["Monitoring"]
_PROBLEM_TEXT = {
    400: "Invalid input: `errors` names each bad field or parameter (unknown ones included).",
    401: 'Missing, invalid, expired or revoked bearer token (`WWW-Authenticate: Bearer error="invalid_token"`).',
    403: "The token lacks the `monitoring` grant (a user token carries it only for a monitor or a company admin).",
    404: "No such rule or issue in the token's company (another company's ids are not found either).",
    405: "Method not allowed.",
    415: "The body is not JSON.",
}


def problems(*statuses: int) -> dict:
    return {(code, PROBLEM): OpenApiResponse(ProblemSerializer, description=_PROBLEM_TEXT[code]) for code in statuses}


def _service_errors(exc: DjangoValidationError) -> exceptions.ValidationError:
    wire = {model: name for name, model in s.RULE_FIELDS.items()}
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError({wire.get(k, k): v for k, v in exc.message_dict.items()})
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class MonitoringAPIView(APIView):
    permission_classes = [HasAccessToken, RequiresGrant(MONITORING)]

    @property
    def bearer(self) -> BearerContext:
        return bearer_context(self.request)

    def actor(self) -> Actor:
        return Actor.from_request(self.request, user=self.bearer.user, client=self.bearer.client)

    def rule(self, rule_id: str) -> AlertRule:
        try:
            return selectors.get_rule_for_company(self.bearer.company, rule_id)
        except Http404:
            raise exceptions.NotFound("No alert rule with this id.") from None

    def issue(self, issue_id: str) -> Issue:
        try:
            return selectors.get_issue_for_company(self.bearer.company, issue_id)
        except Http404:
            raise exceptions.NotFound("No issue with this id.") from None

    def rule_data(self, validated: dict) -> dict:
        """The service's fields from the wire's, with agents, groups and users found in the token's company."""
        company = self.bearer.company
        data = {s.RULE_FIELDS[key]: value for key, value in validated.items() if key in s.RULE_FIELDS}
        lookups = (
            ("agents", Agent.objects.for_company(company).filter(deleted_at__isnull=True), "public_id"),
            ("groups", Group.objects.for_company(company), "pk"),
            ("users", ApplicationUser.objects.for_company(company), "userid"),
        )
        errors = {}
        for name, queryset, key in lookups:
            if name not in validated:
                continue
            wanted = list(dict.fromkeys(validated[name]))
            found = {getattr(obj, key): obj for obj in queryset.filter(**{f"{key}__in": wanted})}
            missing = [str(value) for value in wanted if value not in found]
            if missing:
                errors[name] = [f"Not found in your company: {', '.join(missing)}."]
            data[name] = [found[value] for value in wanted if value in found]
        if errors:
            raise exceptions.ValidationError(errors)
        return data


def _validated(serializer_class, data, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


RULE_EXAMPLE = OpenApiExample(
    "Blocked prompts, e-mailed and sent to a SIEM",
    value={
        "name": "Blocked prompts",
        "condition": "blocked_prompt",
        "severity": "high",
        "notifyEmail": True,
        "webhookUrl": "https://siem.example.com/airisk",
    },
    request_only=True,
)


class RulesView(MonitoringAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_ListRules",
        summary="List the company's alert rules",
        parameters=[s.PageQuerySerializer, LINK_HEADER],
        responses={200: s.RulePageSerializer, **problems(400, 401, 403, 405)},
    )
    def get(self, request: Request) -> Response:
        query = s.PageQuerySerializer.validated_query(request.query_params)
        page = paginate(
            selectors.rule_list(company=self.bearer.company).order_by("created", "id"),
            page=query["page"],
            page_size=query["pageSize"],
        )
        body = page.body([s.rule_representation(rule) for rule in page.items])
        return Response(body, headers={"Link": page.link_header(request)})

    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_CreateRule",
        summary="Create an alert rule",
        description="A rule with a `webhookUrl` gets a secret, returned once as `webhookSecret` (HMAC-SHA256 key of "
        "the `X-AIRisk-Signature` header over `timestamp.body`). Audited.",
        request=s.RuleInputSerializer,
        examples=[RULE_EXAMPLE],
        responses={201: s.RuleCreatedSerializer, **problems(400, 401, 403, 405, 415)},
    )
    def post(self, request: Request) -> Response:
        data = self.rule_data(_validated(s.RuleInputSerializer, request.data))
        try:
            rule, secret = services.alert_rule_create(company=self.bearer.company, actor=self.actor(), data=data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        body = s.rule_representation(rule)
        if secret:
            body["webhookSecret"] = secret
        return Response(body, status=status.HTTP_201_CREATED)


class RuleView(MonitoringAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_GetRule",
        summary="One alert rule",
        responses={200: s.RuleOutputSerializer, **problems(401, 403, 404, 405)},
    )
    def get(self, request: Request, rule_id: str) -> Response:
        return Response(s.rule_representation(self.rule(rule_id)))

    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_UpdateRule",
        summary="Change an alert rule",
        description="Only the fields sent change. Adding a `webhookUrl` to a rule without a secret returns "
        "`webhookSecret` once. `enabled: false` pauses the rule. Audited.",
        request=s.RuleInputSerializer,
        responses={200: s.RuleCreatedSerializer, **problems(400, 401, 403, 404, 405, 415)},
    )
    def patch(self, request: Request, rule_id: str) -> Response:
        rule = self.rule(rule_id)
        data = self.rule_data(_validated(s.RuleInputSerializer, request.data, partial=True))
        try:
            rule, secret = services.alert_rule_update(
                company=self.bearer.company, actor=self.actor(), rule=rule, data=data
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        body = s.rule_representation(rule)
        if secret:
            body["webhookSecret"] = secret
        return Response(body)

    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_DeleteRule",
        summary="Delete an alert rule",
        description="Its issues stay, with the rule's name. Audited.",
        responses={204: None, **problems(401, 403, 404, 405)},
    )
    def delete(self, request: Request, rule_id: str) -> Response:
        services.alert_rule_delete(company=self.bearer.company, actor=self.actor(), rule=self.rule(rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class IssuesView(MonitoringAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_ListIssues",
        summary="List the company's issues",
        description="Newest activity first. Without `status`, every status.",
        parameters=[s.IssueListQuerySerializer, LINK_HEADER],
        responses={200: s.IssuePageSerializer, **problems(400, 401, 403, 405)},
    )
    def get(self, request: Request) -> Response:
        query = s.IssueListQuerySerializer.validated_query(request.query_params)
        filters = {name: query.get(name, "") for name in ("status", "severity", "rule", "assignee", "agent")}
        page: Page = paginate(
            selectors.issue_list(company=self.bearer.company, **filters),
            page=query["page"],
            page_size=query["pageSize"],
        )
        body = page.body([s.issue_representation(issue) for issue in page.items])
        return Response(body, headers={"Link": page.link_header(request)})


class IssueView(MonitoringAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_GetIssue",
        summary="One issue, with its linked events, comments, history and notifications",
        responses={200: s.IssueDetailSerializer, **problems(401, 403, 404, 405)},
    )
    def get(self, request: Request, issue_id: str) -> Response:
        return Response(s.issue_detail_representation(self.issue(issue_id)))

    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_UpdateIssue",
        summary="Change an issue's status, severity or assignee",
        description="Each change goes to the issue's history and the audit log. The assignee is a monitor or "
        "admin of the company (`null`: nobody).",
        request=s.IssueUpdateSerializer,
        examples=[OpenApiExample("Acknowledge", value={"status": "acknowledged"}, request_only=True)],
        responses={200: s.IssueDetailSerializer, **problems(400, 401, 403, 404, 405, 415)},
    )
    def patch(self, request: Request, issue_id: str) -> Response:
        issue = self.issue(issue_id)
        data = _validated(s.IssueUpdateSerializer, request.data)
        changes = {key: data[key] for key in ("status", "severity") if key in data}
        if "assignee" in data:
            assignee = None
            if data["assignee"] is not None:
                assignee = (
                    ApplicationUser.objects.for_company(self.bearer.company).filter(userid=data["assignee"]).first()
                )
                if assignee is None:
                    raise exceptions.ValidationError({"assignee": ["No user with this userid in your company."]})
            changes["assignee"] = assignee
        try:
            services.issue_update(company=self.bearer.company, actor=self.actor(), issue=issue, **changes)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(s.issue_detail_representation(self.issue(issue_id)))


class IssueCommentsView(MonitoringAPIView):
    @extend_schema(
        tags=TAGS,
        operation_id="Monitoring_AddComment",
        summary="Comment on an issue",
        request=s.CommentInputSerializer,
        responses={201: s.CommentSerializer, **problems(400, 401, 403, 404, 405, 415)},
    )
    def post(self, request: Request, issue_id: str) -> Response:
        issue = self.issue(issue_id)
        data = _validated(s.CommentInputSerializer, request.data)
        try:
            comment = services.issue_comment_add(
                company=self.bearer.company, actor=self.actor(), issue=issue, text=data["text"]
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        body = {"author": comment.author_label, "text": comment.text, "created": comment.created}
        return Response(body, status=status.HTTP_201_CREATED)
