"""OpenAPI descriptions of AskAgent and ChatWithAgent. They are async Django views (not DRF), which
drf-spectacular does not see, so this postprocessing hook adds them, with the event stream described as
``text/event-stream``."""

from __future__ import annotations

import copy
from typing import Any

EVENTS = (
    "thread.run.created, thread.run.queued, thread.run.in_progress, thread.run.step.created, "
    "thread.run.step.in_progress, thread.message.created (data.id is the stored AI message's id), "
    "thread.message.in_progress, thread.message.delta (repeated; text at delta.content[0].text.value), "
    "thread.message.completed or thread.message.incomplete (incomplete_details.reason: max_tokens, "
    "content_filter, cancelled), thread.run.step.completed, thread.run.completed (usage; metadata.cost, "
    "metadata.server_timing), then `event: done` / `data: [DONE]`. On an engine error: thread.run.failed "
    "(last_error.code server_error | rate_limit_exceeded | invalid_prompt | blocked) then done. Comment lines "
    "`: ping` every ~15 s. Response headers: Cache-Control: no-cache, X-Accel-Buffering: no, Server-Timing."
)
EXAMPLE = (
    "event: thread.message.delta\n"
    'data: {"id":"6f1c…","object":"thread.message.delta","delta":{"content":[{"index":0,"type":"text",'
    '"text":{"value":"Twenty ","annotations":[]}}]}}\n\n'
    "event: done\ndata: [DONE]\n\n"
)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": {"type": "object"}}}}


def _operation(operation_id: str, summary: str, description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["Chat"],
        "security": [{"oauth2Bearer": []}],
        "parameters": [
            {
                "name": "Accept",
                "in": "header",
                "description": "text/event-stream for the event stream; application/json for the finished answer.",
                "schema": {"type": "string", "enum": ["text/event-stream", "application/json"]},
            }
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {
                "description": "The answer: an event stream, or the finished AI message as JSON.",
                "headers": {
                    "Server-Timing": {"schema": {"type": "string"}, "description": "auth and prepare phases, ms."}
                },
                "content": {
                    "text/event-stream": {"schema": {"type": "string", "description": EVENTS}, "example": EXAMPLE},
                    "application/json": {"schema": {"type": "object", "description": "The AI message."}},
                },
            },
            "400": _problem("Missing or malformed field, empty or too long prompt."),
            "401": _problem("No, invalid or expired token."),
            "403": _problem("Not a user token, no chat grant, or the agent is no longer available to the user."),
            "404": _problem("No such conversation (or agent) of this user."),
            "429": {
                **_problem("More prompts than CHAT_RATE_PER_USER."),
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            },
            "502": _problem("JSON mode only: the engine failed; the reason is in detail."),
        },
    }


PATHS = {
    "/api/Chat/AskAgent": {
        "post": _operation(
            "Chat_AskAgent",
            "Ask Agent",
            "Send a prompt in a conversation and receive the answer as it is generated. " + EVENTS,
            {
                "type": "object",
                "required": ["conversationID", "text"],
                "properties": {"conversationID": {"type": "string"}, "text": {"type": "string"}},
            },
        )
    },
    "/api/Chat/ChatWithAgent": {
        "post": _operation(
            "Chat_ChatWithAgent",
            "Chat with Agent",
            "A one-off exchange with an agent: no conversation is stored (the usage and audit records are). "
            "`messages` may carry earlier turns. Same two response modes as AskAgent.",
            {
                "type": "object",
                "required": ["agentId", "text"],
                "properties": {
                    "agentId": {"type": "string"},
                    "text": {"type": "string"},
                    "messages": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "messageType": {"type": "string", "enum": ["User", "AI"]},
                                "text": {"type": "string"},
                            },
                        },
                    },
                },
            },
        )
    },
}


def add_stream_endpoints(result: dict, generator, request, public) -> dict:
    for path, operations in PATHS.items():
        result.setdefault("paths", {}).setdefault(path, copy.deepcopy(operations))
    return result
