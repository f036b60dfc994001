"""The Chat API's non-streaming endpoints (DRF). Thin: authorize, parse, call a selector or a service, shape.

The company and the user always come from the user token; another user's conversation or another company's
agent or file is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from asgiref.sync import async_to_sync
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.agents.selectors import agent_default_for_user, agents_usable_by, get_agent_for_company
from apps.audit.services import Actor
from apps.chat import selectors, services
from apps.chat.api import shapes
from apps.chat.models import AgentDocument, ConversationFile
from apps.chat.pipeline import answer_cancel
from apps.chat.selectors import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from apps.core.net import client_ip
from apps.oauth.grants import AGENTS_WRITE, CHAT
from apps.oauth.permissions import HasAccessToken, RequiresGrant, UserTokenRequired, bearer_context

CHAT_PERMISSIONS = [HasAccessToken, UserTokenRequired, RequiresGrant(CHAT)]
TAG = "Chat"


class AdminUser(BasePermission):
    message = "Adding files to an agent needs a user token of a company admin."

    def has_permission(self, request, view) -> bool:
        context = bearer_context(request)
        return context is not None and context.user is not None and context.user.has_role(Role.ADMIN)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class UnsupportedType(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_type"


_BY_STATUS = {404: exceptions.NotFound, 409: Conflict, 413: PayloadTooLarge, 415: UnsupportedType}


@contextmanager
def chat_errors() -> Iterator[None]:
    try:
        yield
    except services.ChatError as error:
        raise _BY_STATUS.get(error.status, exceptions.ValidationError)(error.message) from None


class ChatView(APIView):
    permission_classes = CHAT_PERMISSIONS

    @property
    def ctx(self):
        return bearer_context(self.request)

    def actor(self) -> Actor:
        return Actor(user=self.ctx.user, client=self.ctx.client, ip=client_ip(self.request))

    def conversation(self, public_id: str):
        return selectors.get_conversation_for_user(self.ctx.company, self.ctx.user, public_id)


def _field(data, *names: str):
    lowered = {str(key).lower(): value for key, value in data.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


@extend_schema(tags=[TAG], summary="List Agents", responses={200: OpenApiTypes.OBJECT})
class ListAgentsView(ChatView):
    """The agents this user may use, the default agent first."""

    def get(self, request: Request) -> Response:
        agents = list(agents_usable_by(user=self.ctx.user))
        default = agent_default_for_user(user=self.ctx.user)
        agents.sort(key=lambda agent: default is None or agent.pk != default.pk)
        return Response([shapes.agent_shape(a, is_default=default is not None and a.pk == default.pk) for a in agents])


@extend_schema(
    tags=[TAG],
    summary="Create Conversation",
    request={"application/json": {"type": "object", "properties": {"title": {}, "agentId": {}, "metadata": {}}}},
    responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such agent among the user's.")},
)
class CreateConversationView(ChatView):
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        agent_id = _field(data, "agentId", "botId", "agent_id")
        title = _field(data, "title") or ""
        metadata = _field(data, "metadata", "metaData")
        if not isinstance(title, str) or not isinstance(agent_id, str) or not agent_id:
            raise exceptions.ValidationError({"agentId": ["agentId (a string) is required; title is a string."]})
        if metadata is not None and not isinstance(metadata, list | dict):
            raise exceptions.ValidationError({"metadata": ["metadata is a list (or an object)."]})
        agent = agents_usable_by(user=self.ctx.user).filter(public_id=agent_id).first()
        if agent is None:
            raise exceptions.NotFound("No such agent among the agents you may use.")
        with chat_errors():
            conversation = services.conversation_create(
                company=self.ctx.company,
                user=self.ctx.user,
                actor=self.actor(),
                agent=agent,
                title=title,
                metadata=metadata,
                ip_address=client_ip(request),
            )
        return Response(shapes.conversation_shape(conversation))


PAGING_PARAMETERS = [
    OpenApiParameter("results", int, description=f"Page size ({DEFAULT_PAGE_SIZE} when not given, at most 200)."),
    OpenApiParameter("skip", int, description="Offset: (page - 1) * results."),
    OpenApiParameter("metadatasearch", str, description="Text filter on the conversation's metadata and title."),
    OpenApiParameter("agentid", str, description="Only this agent's conversations (all agents when left out)."),
]


def _whole(value, name: str, default: int, high: int | None = None) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise exceptions.ValidationError({name: [f"{name} must be a whole number."]}) from None
    if number < 0 or (high is not None and number > high) or (name == "results" and number == 0):
        raise exceptions.ValidationError({name: [f"{name} must be between {int(name == 'results')} and {high}."]})
    return number


@extend_schema(
    tags=[TAG], summary="Get Conversations", parameters=PAGING_PARAMETERS, responses={200: OpenApiTypes.OBJECT}
)
class GetConversationsView(ChatView):
    """The user's conversations, newest first, as a bare JSON array (the deployed client reads one)."""

    def get(self, request: Request, agentid=None, results=None, skip=None, metadatasearch=None) -> Response:
        query = request.query_params
        agent_id = agentid or query.get("agentid") or query.get("agentId") or None
        size = _whole(
            results if results is not None else query.get("results"), "results", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
        )
        offset = _whole(skip if skip is not None else query.get("skip"), "skip", 0, 10**9)
        search = metadatasearch if metadatasearch is not None else query.get("metadatasearch", "")
        rows = list(
            selectors.conversation_list(
                company=self.ctx.company, user=self.ctx.user, agent_id=agent_id, metadata_search=search.strip()
            ).select_related("user", "company")[offset : offset + size + 1]
        )
        has_more = len(rows) > size
        return Response([shapes.conversation_shape(row, has_more=has_more) for row in rows[:size]])


@extend_schema(tags=[TAG], summary="Get Conversation", responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
class GetConversationView(ChatView):
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = self.conversation(conversation_id)
        messages = list(selectors.conversation_messages(conversation=conversation).select_related("conversation"))
        run_id = next((m.run_id for m in reversed(messages) if m.run_id), None)
        return Response(shapes.conversation_shape(conversation, messages=messages, run_id=run_id))


@extend_schema(
    tags=[TAG],
    summary="Delete Conversation (hide it from the history; the record is kept)",
    request=None,
    responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
)
class DeleteConversationView(ChatView):
    def delete(self, request: Request, conversation_id: str) -> Response:
        services.conversation_hide(
            company=self.ctx.company, actor=self.actor(), conversation=self.conversation(conversation_id)
        )
        return Response({})

    @extend_schema(exclude=True)
    def post(self, request: Request, conversation_id: str) -> Response:
        return self.delete(request, conversation_id)


@extend_schema(
    tags=[TAG],
    summary="Submit Feedback",
    request=None,
    parameters=[
        OpenApiParameter("conversationId", str, required=True),
        OpenApiParameter("messageId", str, required=True),
        OpenApiParameter("feedback", str, required=True, enum=["Like", "Dislike"]),
    ],
    responses={200: OpenApiTypes.OBJECT},
)
class SubmitFeedbackView(ChatView):
    def post(self, request: Request) -> Response:
        params = {**request.query_params.dict(), **(request.data if isinstance(request.data, dict) else {})}
        conversation_id = _field(params, "conversationId") or ""
        message_id = _field(params, "messageId") or ""
        feedback = _field(params, "feedback")
        if feedback in ("", "None", "none", "null"):
            feedback = None
        conversation = self.conversation(str(conversation_id))
        message = selectors.message_for_user(self.ctx.company, self.ctx.user, conversation, str(message_id))
        with chat_errors():
            services.message_feedback_set(
                company=self.ctx.company, actor=self.actor(), message=message, feedback=feedback
            )
        return Response({})


def _uploads(request: Request) -> list:
    # The deployed client names the form field after the file: take every file, whatever its field's name.
    return [upload for name in request.FILES for upload in request.FILES.getlist(name)]


@extend_schema(
    tags=[TAG],
    summary="Add File to Conversation",
    request={"multipart/form-data": {"type": "object", "additionalProperties": {"type": "string", "format": "binary"}}},
    responses={200: OpenApiResponse(description="Empty body; the file's id is in X-File-Id.")},
)
class AddFileToConversationView(ChatView):
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request: Request, conversation_id: str) -> HttpResponse:
        conversation = self.conversation(conversation_id)
        uploads = _uploads(request)
        if not uploads:
            raise exceptions.ValidationError({"file": ["Send the file as multipart form data."]})
        ids = []
        with chat_errors():
            for upload in uploads:
                attached = services.conversation_file_add(
                    company=self.ctx.company, actor=self.actor(), conversation=conversation, uploaded_file=upload
                )
                ids.append(attached.document.public_id)
        return HttpResponse(status=200, headers={"X-File-Id": ",".join(ids)})


@extend_schema(
    tags=[TAG],
    summary="Add Files to Agent",
    request={"multipart/form-data": {"type": "object", "additionalProperties": {"type": "string", "format": "binary"}}},
    responses={200: OpenApiTypes.OBJECT},
)
class AddFilesToAgentView(ChatView):
    permission_classes = [HasAccessToken, UserTokenRequired, RequiresGrant(AGENTS_WRITE), AdminUser]
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request: Request, agent_id: str) -> Response:
        agent = get_agent_for_company(self.ctx.company, agent_id)
        with chat_errors():
            links = services.agent_files_add(
                company=self.ctx.company, actor=self.actor(), agent=agent, uploaded_files=_uploads(request)
            )
        return Response(
            [
                {"id": link.document.public_id, "fileName": link.document.filename, "size": link.document.size}
                for link in links
            ]
        )


@extend_schema(tags=[TAG], summary="Delete File", request=None, responses={200: OpenApiTypes.OBJECT})
class DeleteFileView(ChatView):
    """A file of one of the user's conversations; or, for a company admin's token with ``agents:write``, one of
    an agent's files."""

    def delete(self, request: Request, file_id: str) -> Response:
        company, user = self.ctx.company, self.ctx.user
        attached = (
            ConversationFile.objects.for_company(company)
            .filter(document__public_id=file_id, conversation__user=user)
            .select_related("document", "conversation")
            .first()
        )
        if attached is not None:
            services.conversation_file_delete(company=company, actor=self.actor(), attached=attached)
            return Response({})
        link = (
            AgentDocument.objects.for_company(company)
            .filter(document__public_id=file_id, agent__deleted_at__isnull=True)
            .select_related("document", "agent_file")
            .first()
        )
        if link is None:
            raise Http404("No such file.")
        if not (user.has_role(Role.ADMIN) and self.ctx.has_grant(AGENTS_WRITE)):
            raise exceptions.PermissionDenied(
                "Deleting an agent's file needs a company admin's token with agents:write."
            )
        services.agent_document_delete(company=company, actor=self.actor(), link=link)
        return Response({})


@extend_schema(
    tags=[TAG],
    summary="Cancel an answer in progress",
    request=None,
    responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No answer of this user in progress.")},
)
class CancelAnswerView(ChatView):
    """Stop an answer (the ``id`` of ``thread.message.created``): it is stored as incomplete, reason cancelled."""

    def post(self, request: Request, message_id: str | None = None) -> Response:
        message_id = message_id or request.query_params.get("messageId") or ""
        cancelled = async_to_sync(answer_cancel)(company=self.ctx.company, user=self.ctx.user, message_id=message_id)
        if not cancelled:
            raise Http404("No answer of yours with this id is in progress.")
        return Response({"cancelled": True, "messageId": message_id})


# The other published spellings of GetConversations, each its own operation in the schema.
def _spelling(operation_id: str, summary: str) -> type[GetConversationsView]:
    class Spelling(GetConversationsView):
        @extend_schema(
            tags=[TAG],
            operation_id=operation_id,
            summary=summary,
            parameters=PAGING_PARAMETERS[:-1] if operation_id != "GetConversations" else PAGING_PARAMETERS,
            responses={200: OpenApiTypes.OBJECT},
        )
        def get(self, request: Request, **kwargs) -> Response:
            return super().get(request, **kwargs)

    Spelling.__name__ = Spelling.__qualname__ = f"{operation_id.replace('_', '')}View"
    return Spelling


GetConversationsByAgentView = _spelling("Chat_GetConversationsByAgent", "Get Conversations of one agent")
GetConversationsPageView = _spelling("Chat_GetConversationsPage", "Get Conversations: a page with a metadata search")
GetConversationsShortView = _spelling("GetConversations", "Get Conversations (the OAuth2 page's spelling)")


@extend_schema(exclude=True)
class GetConversationsUndocumentedView(GetConversationsView):
    """The page spelling with an empty or missing metadata search (``/{agentid}/{results}/{skip}[/]``)."""


@extend_schema(exclude=True)
class CancelAnswerQueryView(CancelAnswerView):
    """``POST /api/Chat/CancelAnswer?messageId=…``."""
