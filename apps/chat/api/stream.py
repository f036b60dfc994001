"""AskAgent and ChatWithAgent: async Django views (not DRF) that stream the answer as server-sent events, or
return the finished answer as JSON (``Accept: application/json``).

Request path of a prompt: ``pipeline.answer_start`` is given the request's builder, and one worker-thread call
authenticates the bearer token, reads the conversation and prepares (limits, access, context, the stored
messages); the first pipeline event decides between a 4xx problem+json and a 200 event stream. The stream
writes each delta as the engine produces it; ``: ping`` comments keep idle proxies from closing it. A client
that leaves only ends this generator: the answer's task goes on and stores the answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

from apps.agents.selectors import agents_usable_by
from apps.chat.api.events import PING, StreamWriter, server_timing
from apps.chat.api.shapes import citation_shape
from apps.chat.pipeline import (
    AnswerHandle,
    Delta,
    Failed,
    Finished,
    PromptInput,
    Started,
    answer_start,
)
from apps.chat.selectors import prompt_conversation
from apps.core.net import client_ip
from apps.core.problems import problem_response
from apps.engines.base import ChatTurn
from apps.oauth.authentication import BearerContext, BearerTokenAuthentication
from apps.oauth.grants import CHAT
from apps.oauth.permissions import missing_grant_message

USER_TOKEN_NEEDED = "This endpoint needs a user token: request the token with the userid parameter."
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Problem(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers or {}, extra


def authorize_chat(request: HttpRequest) -> BearerContext:
    """The bearer token of a user, carrying the ``chat`` grant (sync: one indexed query)."""
    try:
        result = BearerTokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed as failure:
        raise Problem(401, str(failure.detail), {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    if result is None:
        raise Problem(401, "Authentication credentials were not provided.", {"WWW-Authenticate": "Bearer"})
    context: BearerContext = result[1]
    if not context.is_user_token:
        raise Problem(403, USER_TOKEN_NEEDED)
    if not context.has_grant(CHAT):
        challenge = f'Bearer error="insufficient_scope", scope="{CHAT}"'
        raise Problem(403, missing_grant_message(context, CHAT), {"WWW-Authenticate": challenge})
    return context


def json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object.")
    return body


def field(body: dict[str, Any], *names: str) -> Any:
    """A body field under any of its spellings (the client sends ``conversationID``, others ``conversationId``)."""
    lowered = {key.lower(): value for key, value in body.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def text_of(body: dict[str, Any]) -> str:
    text = field(body, "text", "prompt", "message")
    if not isinstance(text, str) or not text.strip():
        raise Problem(400, "text is required: the prompt, a non-empty string.")
    return text


def _ask_input(request: HttpRequest) -> PromptInput:
    context = authorize_chat(request)
    body = json_body(request)
    conversation_id = field(body, "conversationID", "conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise Problem(400, "conversationID is required.")
    try:
        conversation = prompt_conversation(context.company, context.user, conversation_id)
    except Http404:
        raise Problem(404, "No such conversation.") from None
    return PromptInput(
        company=context.company,
        user=context.user,
        agent=conversation.agent,
        conversation=conversation,
        text=text_of(body),
        client_ip=client_ip(request),
        client=context.client,
    )


def _one_off_input(request: HttpRequest) -> PromptInput:
    context = authorize_chat(request)
    body = json_body(request)
    agent_id = field(body, "agentId", "botId", "agent_id")
    agent = agents_usable_by(user=context.user).filter(public_id=str(agent_id or "")).first()
    if agent is None:
        raise Problem(404, "No such agent among the agents you may use.")
    return PromptInput(
        company=context.company,
        user=context.user,
        agent=agent,
        conversation=None,
        text=text_of(body),
        history=history_of(field(body, "messages", "history")),
        client_ip=client_ip(request),
        client=context.client,
    )


def history_of(messages: Any) -> list[ChatTurn]:
    """Earlier turns sent by the caller: ``[{messageType: User|AI, text}]`` or ``[{role, content}]``."""
    if messages in (None, ""):
        return []
    if not isinstance(messages, list):
        raise Problem(400, "messages must be a list of {messageType, text}.")
    turns = []
    for item in messages:
        if not isinstance(item, dict):
            raise Problem(400, "messages must be a list of {messageType, text}.")
        kind = str(field(item, "messageType", "role") or "").lower()
        text = field(item, "text", "content")
        if kind not in ("user", "ai", "assistant") or not isinstance(text, str):
            raise Problem(400, "Each message needs messageType User or AI and a text.")
        turns.append(ChatTurn("user" if kind == "user" else "assistant", text))
    return turns


def wants_stream(request: HttpRequest) -> bool:
    return "text/event-stream" in request.headers.get("Accept", "")


def refusal_response(request: HttpRequest, event: Failed) -> JsonResponse:
    headers = {"Retry-After": str(event.retry_after)} if event.retry_after else None
    return problem_response(request, event.status or 500, detail=event.message, headers=headers, code=event.code)


async def answer(request: HttpRequest, build) -> HttpResponse:
    if request.method != "POST":
        return problem_response(request, 405, detail="Use POST.", headers={"Allow": "POST"})
    # The token, the body and the conversation are checked in the same worker-thread call as the preparation.
    handle = answer_start(partial(build, request))
    first = await handle.next_event()
    if isinstance(first, Failed):
        if isinstance(first.cause, Problem):
            problem = first.cause
            return problem_response(request, problem.status, detail=problem.detail, headers=problem.headers)
        if first.cause is not None:
            raise first.cause
        return refusal_response(request, first)
    assert isinstance(first, Started)
    phases = {"auth": first.auth_ms, "prepare": first.prepare_ms}
    if wants_stream(request):
        response = StreamingHttpResponse(
            _sse(handle, first, phases), content_type="text/event-stream; charset=utf-8", headers=STREAM_HEADERS
        )
        response["Server-Timing"] = server_timing(phases)
        return response
    return await _json_answer(request, handle, first, phases)


async def _sse(handle: AnswerHandle, started: Started, phases: dict[str, float]) -> AsyncIterator[bytes]:
    writer = StreamWriter(started)
    yield b"".join(writer.opening())
    while True:
        event = await handle.next_event(settings.CHAT_PING_SECONDS)
        if event is None:
            yield PING
            continue
        # Deltas that queued up while the client was being written to leave in one write, not one each.
        frames: list[bytes] = []
        while isinstance(event, Delta):
            frames.append(writer.delta(event))
            event = handle.ready_event()
        if isinstance(event, Finished):
            frames += writer.closing(event, server_timing({**phases, **event.timings}))
        elif isinstance(event, Failed):
            frames += writer.failure(event)
        yield b"".join(frames)
        if event is not None:
            return


async def _json_answer(request: HttpRequest, handle: AnswerHandle, started: Started, phases: dict) -> HttpResponse:
    async for event in handle.events():
        if isinstance(event, Finished):
            body = {
                "id": event.message_id,
                "conversationID": started.conversation_id,
                "messageType": "AI",
                "text": event.text,
                "status": event.status,
                "incompleteReason": event.incomplete_reason or None,
                "finishReason": event.finish_reason or None,
                "feedback": None,
                "like": False,
                "dislike": False,
                "fileName": None,
                "fileURL": None,
                "fileIds": [],
                "citations": [citation_shape(citation) for citation in event.citations],
                "promptTokens": event.usage.input_tokens,
                "completionTokens": event.usage.output_tokens,
                "totalTokens": event.usage.input_tokens + event.usage.output_tokens,
                "usageEstimated": event.usage.estimated,
                "cost": float(event.cost),
                "runID": started.run_id,
            }
            return JsonResponse(body, headers={"Server-Timing": server_timing({**phases, **event.timings})})
        if isinstance(event, Failed):
            # The engine failed: a gateway error with the provider's reason, never a 500.
            return problem_response(request, 502, detail=event.message, code=event.code, messageId=event.message_id)
    return problem_response(request, 500, detail="The answer ended without a result.")


@csrf_exempt
async def ask_agent(request: HttpRequest) -> HttpResponse:
    return await answer(request, _ask_input)


@csrf_exempt
async def chat_with_agent(request: HttpRequest) -> HttpResponse:
    return await answer(request, _one_off_input)
