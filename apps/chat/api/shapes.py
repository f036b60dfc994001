"""The Chat API's JSON shapes, field for field as the deployed client reads them (observed-client-api.md).

Fields that mean nothing here (``vectorStoreID``, ``functionCalls``) are present with null or empty values,
never missing: the client's decoders fail on a missing key. Costs are USD numbers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.agents.models import Agent
from apps.chat.models import Conversation, Message, MessageStatus


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def money(value: Decimal | None) -> float:
    return float(value or 0)


def agent_shape(agent: Agent, *, is_default: bool = False) -> dict[str, Any]:
    image = agent.image.name.rsplit("/", 1)[-1] if agent.image else None
    prompts = agent.suggested_prompt_list or [None]
    suggestions = [
        {
            "id": f"{agent.public_id}-{index}",
            "botID": agent.public_id,
            "greeting": agent.greeting,
            "greetingDescription": agent.greeting_description,
            "suggestion": prompt,
            "imageName": image,
            "lastUpdated": iso(agent.updated),
            "createdDate": iso(agent.created),
        }
        for index, prompt in enumerate(prompts)
    ]
    return {
        "id": agent.public_id,
        "name": agent.name,
        "description": agent.description,
        "greeting": agent.greeting,
        "greetingDescription": agent.greeting_description,
        "suggestedPrompts": agent.suggested_prompt_list,
        "imageName": image,
        "isDefault": is_default,
        "botSuggestion": suggestions,
        "lastUpdated": iso(agent.updated),
        "createdDate": iso(agent.created),
    }


def current_cost(conversation: Conversation) -> dict[str, Any]:
    return {
        "promptTokens": conversation.prompt_tokens,
        "completionTokens": conversation.completion_tokens,
        "totalTokens": conversation.total_tokens,
        "promptCost": money(conversation.prompt_cost),
        "completionCost": money(conversation.completion_cost),
        "totalCost": money(conversation.total_cost),
        "currency": "USD",
    }


def conversation_shape(
    conversation: Conversation,
    *,
    messages: list[Message] | None = None,
    has_more: bool = False,
    run_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": conversation.public_id,
        "userID": conversation.user.userid,
        "botID": conversation.agent.public_id,
        "agentName": conversation.agent.name,
        "title": conversation.title,
        "threadID": conversation.public_id,
        "vectorStoreID": None,
        "runID": run_id,
        "ipAddress": conversation.ip_address,
        "promptTokens": conversation.prompt_tokens,
        "completionTokens": conversation.completion_tokens,
        "totalTokens": conversation.total_tokens,
        "hasFlag": conversation.has_flag,
        "hasMore": has_more,
        "isSaved": True,
        "removedFromHistory": conversation.removed_from_history,
        "metaData": conversation.metadata,
        "messages": [message_shape(message) for message in messages] if messages is not None else [],
        "functionCalls": [],
        "currentCost": current_cost(conversation),
        "companyId": conversation.company.slug,
        "lastUpdated": iso(conversation.last_updated),
        "createdDate": iso(conversation.created),
    }


def citation_shape(citation: dict[str, Any]) -> dict[str, Any]:
    """A passage used for an answer: the client's citation fields (Azure "On your data" names) and ours."""
    return {
        "content": citation.get("text", ""),
        "title": citation.get("fileName", ""),
        "filepath": citation.get("fileName", ""),
        "url": None,
        "chunk_id": str(citation.get("chunk", "")),
        "documentId": citation.get("documentId"),
        "page": citation.get("page"),
        "score": citation.get("score"),
    }


def message_shape(message: Message) -> dict[str, Any]:
    attachments = message.attachments or []
    return {
        "id": message.public_id,
        "conversationID": message.conversation.public_id,
        "messageType": message.message_type,
        "text": message.text,
        "status": message.status,
        "incompleteReason": message.incomplete_reason or None,
        "feedback": message.feedback,
        "like": message.feedback == "Like",
        "dislike": message.feedback == "Dislike",
        "fileName": attachments[0]["fileName"] if attachments else None,
        "fileURL": None,
        "fileIds": [item["documentId"] for item in attachments],
        "citations": [citation_shape(citation) for citation in message.citations or []],
        "finishReason": message.finish_reason or None,
        "promptTokens": message.input_tokens,
        "completionTokens": message.output_tokens,
        "usageEstimated": message.usage_estimated,
        "cost": money(message.cost),
        "firstTokenMs": message.first_token_ms,
        "totalMs": message.total_ms,
        "errorMessage": (message.error_message or None) if message.status == MessageStatus.FAILED else None,
        "createdDate": iso(message.created),
    }
