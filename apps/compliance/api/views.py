"""The Compliance API (``/api/compliance/...``): search, export, one conversation, saved searches.

A token whose scope holds the ``compliance`` grant: a user token of a compliance officer, or a generic token of a
client holding the grant (it acts for its company). Saved searches belong to people: those endpoints need a user
token. The criteria are the search page's (validated by the same form); another company's ids are not choices
(400), another company's conversation or saved search is a 404. Every search, conversation read and export is
audited like on the pages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, QueryDict, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.services import Actor
from apps.compliance import export, selectors, services
from apps.compliance.api import serializers as s
from apps.compliance.forms import FIELDS, SearchForm, form_errors
from apps.compliance.models import SavedSearch
from apps.compliance.selectors import Criteria, ResultPage, ResultRow
from apps.oauth.authentication import BearerContext
from apps.oauth.grants import COMPLIANCE
from apps.oauth.permissions import HasAccessToken, RequiresGrant, UserTokenRequired, bearer_context
from apps.users_api.views import problems

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 10_000
PAGE_FIELDS = ("page", "pageSize")


class ComplianceAPIView(APIView):
    permission_classes = [HasAccessToken, RequiresGrant(COMPLIANCE)]

    @property
    def bearer(self) -> BearerContext:
        return bearer_context(self.request)

    def actor(self) -> Actor:
        return Actor.from_request(self.request, user=self.bearer.user, client=self.bearer.client)


def _form_data(data: Any, extra: tuple[str, ...]) -> tuple[QueryDict, dict]:
    """The criteria of a query string or a JSON object as form data, and the ``extra`` fields apart.

    Strict like the rest of the API: unknown fields, repeated single-valued parameters and values of the wrong
    JSON type are 400s that name them."""
    allowed = set(FIELDS) | set(extra)
    form = QueryDict(mutable=True)
    rest: dict = {}
    errors: dict[str, list[str]] = {}
    if isinstance(data, QueryDict):
        items = list(data.lists())
    elif isinstance(data, dict):
        items = [(key, value) for key, value in data.items()]
    else:
        raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    from_query = isinstance(data, QueryDict)
    for key, value in items:
        if key not in allowed:
            errors[key] = ["Unknown field."]
            continue
        if from_query:
            if key == "hits":
                values = [part for item in value for part in item.split(",") if part]
            elif len(value) > 1:
                errors[key] = ["Give this parameter once."]
                continue
            else:
                values = value
        elif key == "hits":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                errors[key] = ["Expected a list of scanner names."]
                continue
            values = value
        elif key == "flagged":
            if not isinstance(value, bool):
                errors[key] = ["Expected true or false."]
                continue
            values = ["true"] if value else []
        elif key in ("group", "page", "pageSize"):
            if isinstance(value, bool) or not isinstance(value, int):
                errors[key] = ["Expected an integer."]
                continue
            values = [str(value)]
        elif not isinstance(value, str):
            errors[key] = ["Expected a string."]
            continue
        else:
            values = [value]
        if key in extra:
            rest[key] = values[0] if values else ""
        else:
            form.setlist(key, [item.replace("\x00", "") for item in values])
    if errors:
        raise exceptions.ValidationError(errors)
    return form, rest


def _flagged(form_data: QueryDict) -> QueryDict:
    # A query string says flagged=true|false; the form's checkbox reads any non-false value as on.
    value = form_data.get("flagged")
    if value is not None and value not in ("true", "false", ""):
        raise exceptions.ValidationError({"flagged": ["Expected true or false."]})
    return form_data


def _criteria(context: BearerContext, form_data: QueryDict) -> Criteria:
    form = SearchForm(_flagged(form_data), company=context.company)
    if not form.is_valid():
        raise exceptions.ValidationError(form_errors(form))
    return form.criteria()


def _int(value: str | None, name: str, default: int, maximum: int) -> int:
    if value in (None, ""):
        return default
    if not str(value).isdigit() or not 1 <= int(value) <= maximum:
        raise exceptions.ValidationError({name: [f"An integer from 1 to {maximum}."]})
    return int(value)


def _hit(hit: Any) -> dict:
    if isinstance(hit, dict):
        return {key: hit[key] for key in ("scanner", "action", "direction", "score")}
    return {"scanner": hit.scanner, "action": hit.action, "direction": hit.direction, "score": hit.score}


def result_body(row: ResultRow) -> dict:
    message = row.message
    conversation = message.conversation
    return {
        "messageId": message.public_id,
        "conversationId": conversation.public_id,
        "conversationTitle": str(conversation),
        "user": conversation.user.email,
        "userid": conversation.user.userid,
        "agent": conversation.agent.name,
        "agentId": conversation.agent.public_id,
        "type": message.message_type,
        "created": message.created.isoformat(),
        "feedback": message.feedback,
        "snippet": str(row.snippet),
        "score": row.score,
        "hits": [_hit(hit) for hit in row.hits],
    }


def page_body(page: ResultPage) -> dict:
    return {
        "data": [result_body(row) for row in page.rows],
        "page": page.page,
        "pageSize": page.page_size,
        "totalCount": page.total,
        "totalCountIsLowerBound": page.total_is_lower_bound,
        "totalPages": page.total_pages,
    }


CRITERIA_PARAMETERS = [
    OpenApiParameter(
        name,
        OpenApiTypes.STR,
        many=name == "hits",
        description=s.CRITERIA_HELP[name],
        enum=None,
    )
    for name in FIELDS
]
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="1-based page (default 1)."),
    OpenApiParameter("pageSize", OpenApiTypes.INT, description="Results per page (default 50, at most 200)."),
]
ERRORS_TEXT = {
    404: "No such conversation or saved search in the token's company (another company's are not found either).",
}


def _problems(*codes: int) -> dict:
    found = problems(*[code for code in codes if code != 404])
    if 404 in codes:
        found.update(problems(404))
        key = (404, "application/problem+json")
        found[key] = OpenApiResponse(found[key].response, description=ERRORS_TEXT[404])
    return found


class SearchView(ComplianceAPIView):
    def _run(self, request: Request, data: Any) -> Response:
        form_data, extra = _form_data(data, PAGE_FIELDS)
        page_number = _int(extra.get("page"), "page", 1, MAX_PAGE)
        page_size = _int(extra.get("pageSize"), "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        criteria = _criteria(self.bearer, form_data)
        page = selectors.search_page(
            company=self.bearer.company, criteria=criteria, page=page_number, page_size=page_size
        )
        services.compliance_search_record(
            company=self.bearer.company,
            actor=self.actor(),
            criteria=criteria.as_dict(),
            page=page.page,
            results=page.total,
            channel="api",
        )
        return Response(page_body(page))

    @extend_schema(
        operation_id="ComplianceSearch",
        tags=["Compliance"],
        summary="Search the company's messages (criteria as query parameters)",
        description="Needs the `compliance` grant. Newest first (or `order=rank`). Each result carries the matched "
        "passage as escaped HTML with `<mark>` around the matches. Audited.",
        parameters=[*CRITERIA_PARAMETERS, *PAGE_PARAMETERS],
        responses={200: s.ResultPageSerializer, **_problems(400, 401, 403, 405)},
    )
    def get(self, request: Request) -> Response:
        return self._run(request, request.query_params)

    @extend_schema(
        operation_id="ComplianceSearchPost",
        tags=["Compliance"],
        summary="Search the company's messages (criteria as a JSON body)",
        description="The same search with the criteria in a JSON object (`hits` a list, `flagged` a boolean).",
        request=s.SearchInputSerializer,
        responses={200: s.ResultPageSerializer, **_problems(400, 401, 403, 405, 415)},
    )
    def post(self, request: Request) -> Response:
        return self._run(request, request.data)


class ExportView(ComplianceAPIView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is CSV or JSON Lines whatever the client accepts; errors stay problem+json.
        return super().perform_content_negotiation(request, force=True)

    def _run(self, request: Request, data: Any) -> StreamingHttpResponse:
        form_data, extra = _form_data(data, ("format",))
        fmt = extra.get("format") or "csv"
        if fmt not in export.FORMATS:
            raise exceptions.ValidationError({"format": ["csv or jsonl."]})
        criteria = _criteria(self.bearer, form_data)
        company = self.bearer.company
        services.compliance_export_record(
            company=company, actor=self.actor(), criteria=criteria.as_dict(), fmt=fmt, channel="api"
        )
        rows = selectors.export_rows(company=company, criteria=criteria)
        response = StreamingHttpResponse(export.stream(fmt, rows), content_type=export.FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{export.filename(company, fmt)}"'
        response["Cache-Control"] = "no-store"
        return response

    _RESPONSES = {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV (UTF-8 with BOM), streamed."),
        (200, "application/x-ndjson"): OpenApiResponse(
            OpenApiTypes.STR, description="JSON Lines: one object per message, streamed."
        ),
    }

    @extend_schema(
        operation_id="ComplianceExport",
        tags=["Compliance"],
        summary="Export every matching message as CSV or JSON Lines (streamed)",
        description="Needs the `compliance` grant. `format=csv` (default) or `jsonl`; the criteria of the search. "
        "Newest first; streamed in chunks whatever the size. CSV cells starting with = + - @ get a leading "
        "apostrophe. Audited before the first row.",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=["csv", "jsonl"], description="csv or jsonl."),
            *CRITERIA_PARAMETERS,
        ],
        responses={**_RESPONSES, **_problems(400, 401, 403, 405)},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return self._run(request, request.query_params)

    @extend_schema(
        operation_id="ComplianceExportPost",
        tags=["Compliance"],
        summary="Export (criteria as a JSON body)",
        request=s.ExportInputSerializer,
        responses={**_RESPONSES, **_problems(400, 401, 403, 405, 415)},
    )
    def post(self, request: Request) -> StreamingHttpResponse:
        return self._run(request, request.data)


def conversation_body(record: selectors.ConversationRecord) -> dict:
    conversation = record.conversation
    return {
        "conversationId": conversation.public_id,
        "title": str(conversation),
        "user": conversation.user.email,
        "userid": conversation.user.userid,
        "agent": conversation.agent.name,
        "agentId": conversation.agent.public_id,
        "created": conversation.created.isoformat(),
        "lastUpdated": conversation.last_updated.isoformat(),
        "hasFlag": conversation.has_flag,
        "removedFromHistory": conversation.removed_from_history,
        "totalTokens": conversation.total_tokens,
        "totalCost": str(conversation.total_cost),
        "messages": [
            {
                "messageId": message.public_id,
                "type": message.message_type,
                "text": message.text,
                "status": message.status,
                "feedback": message.feedback,
                "created": message.created.isoformat(),
                "cost": str(message.cost),
                "inputTokens": message.input_tokens,
                "outputTokens": message.output_tokens,
                "hits": [_hit(hit) for hit in record.hits_by_message.get(message.public_id, [])],
            }
            for message in record.messages
        ],
        "otherHits": [_hit(hit) for hit in record.other_hits],
        "files": [
            {"documentId": doc.public_id, "fileName": doc.filename, "size": doc.size, "status": doc.status}
            for doc in record.files
        ],
    }


class ConversationView(ComplianceAPIView):
    @extend_schema(
        operation_id="ComplianceGetConversation",
        tags=["Compliance"],
        summary="One conversation in full: every message, its scanner hits, files and cost",
        description="Needs the `compliance` grant. Any user's conversation of the company, hidden ones included. "
        "Audited.",
        responses={200: s.ConversationSerializer, **_problems(401, 403, 404, 405)},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        company = self.bearer.company
        try:
            conversation = selectors.get_conversation_for_company(company, conversation_id)
        except Http404:
            raise exceptions.NotFound("No conversation with this id.") from None
        record = selectors.conversation_record(conversation=conversation)
        services.compliance_conversation_view_record(
            company=company, actor=self.actor(), conversation=conversation, criteria=None, channel="api"
        )
        return Response(conversation_body(record))


# --- saved searches -----------------------------------------------------------------------------------------------


class SavedSearchAPIView(ComplianceAPIView):
    permission_classes = [HasAccessToken, RequiresGrant(COMPLIANCE), UserTokenRequired]

    def find(self, search_id: str, *, own: bool) -> SavedSearch:
        try:
            return selectors.get_saved_search_for_user(self.bearer.company, self.bearer.user, search_id, own=own)
        except Http404:
            raise exceptions.NotFound("No saved search with this id.") from None

    def criteria_dict(self, data: Any) -> dict:
        if data is None:
            return {}
        form_data, _ = _form_data(data, ())
        return _criteria(self.bearer, form_data).as_dict()

    def body(self, search: SavedSearch) -> dict:
        return {
            "id": search.public_id,
            "name": search.name,
            "criteria": search.criteria,
            "shared": search.shared,
            "owner": search.owner.email,
            "mine": search.owner_id == self.bearer.user.pk,
            "created": search.created.isoformat(),
            "updated": search.updated.isoformat(),
        }


def _saved_input(data: Any, *, partial: bool) -> dict:
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    unknown = sorted(set(data) - {"name", "criteria", "shared"})
    if unknown:
        raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
    if not partial and "name" not in data:
        raise exceptions.ValidationError({"name": ["This field is required."]})
    if "name" in data and not isinstance(data["name"], str):
        raise exceptions.ValidationError({"name": ["Expected a string."]})
    if "shared" in data and not isinstance(data["shared"], bool):
        raise exceptions.ValidationError({"shared": ["Expected true or false."]})
    return data


def _service_errors(error: DjangoValidationError) -> exceptions.APIException:
    if getattr(error, "code", None) == "duplicate_name":
        conflict = exceptions.APIException(" ".join(error.messages))
        conflict.status_code = status.HTTP_409_CONFLICT
        return conflict
    return exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


class SavedSearchListView(SavedSearchAPIView):
    @extend_schema(
        operation_id="ComplianceListSavedSearches",
        tags=["Compliance"],
        summary="The caller's saved searches and those shared with the company's compliance officers",
        description="Needs a user token with the `compliance` grant.",
        responses={200: s.SavedSearchSerializer(many=True), **_problems(401, 403, 405)},
    )
    def get(self, request: Request) -> Response:
        searches = selectors.saved_search_list(company=self.bearer.company, user=self.bearer.user)
        return Response([self.body(search) for search in searches])

    @extend_schema(
        operation_id="ComplianceCreateSavedSearch",
        tags=["Compliance"],
        summary="Save a search under a name",
        description="Needs a user token with the `compliance` grant. Names are unique per user (409 otherwise).",
        request=s.SavedSearchInputSerializer,
        responses={201: s.SavedSearchSerializer, **_problems(400, 401, 403, 405, 409, 415)},
    )
    def post(self, request: Request) -> Response:
        data = _saved_input(request.data, partial=False)
        criteria = self.criteria_dict(data.get("criteria"))
        try:
            search = services.saved_search_create(
                company=self.bearer.company,
                actor=self.actor(),
                owner=self.bearer.user,
                name=data["name"],
                criteria=criteria,
                shared=data.get("shared", False),
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(self.body(search), status=status.HTTP_201_CREATED)


class SavedSearchView(SavedSearchAPIView):
    @extend_schema(
        operation_id="ComplianceGetSavedSearch",
        tags=["Compliance"],
        summary="One saved search (yours or shared)",
        responses={200: s.SavedSearchSerializer, **_problems(401, 403, 404, 405)},
    )
    def get(self, request: Request, search_id: str) -> Response:
        return Response(self.body(self.find(search_id, own=False)))

    @extend_schema(
        operation_id="ComplianceUpdateSavedSearch",
        tags=["Compliance"],
        summary="Rename, change the criteria of, or share one of your saved searches",
        request=s.SavedSearchPatchSerializer,
        responses={200: s.SavedSearchSerializer, **_problems(400, 401, 403, 404, 405, 409, 415)},
    )
    def patch(self, request: Request, search_id: str) -> Response:
        search = self.find(search_id, own=True)
        data = _saved_input(request.data, partial=True)
        try:
            search = services.saved_search_update(
                company=self.bearer.company,
                actor=self.actor(),
                search=search,
                name=data.get("name"),
                criteria=self.criteria_dict(data["criteria"]) if "criteria" in data else None,
                shared=data.get("shared"),
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from None
        return Response(self.body(search))

    @extend_schema(
        operation_id="ComplianceDeleteSavedSearch",
        tags=["Compliance"],
        summary="Delete one of your saved searches",
        responses={204: None, **_problems(401, 403, 404, 405)},
    )
    def delete(self, request: Request, search_id: str) -> Response:
        search = self.find(search_id, own=True)
        services.saved_search_delete(company=self.bearer.company, actor=self.actor(), search=search)
        return Response(status=status.HTTP_204_NO_CONTENT)
