"""Reads of conversations, always scoped to one company and one user."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.accounts.models import ApplicationUser
from apps.agents.models import Agent
from apps.chat.models import AgentDocument, Conversation, ConversationFile, Message, MessageStatus, MessageType
from apps.companies.models import Company
from apps.documents.models import Document
from apps.engines.base import ChatTurn

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200


def conversation_list(
    *,
    company: Company | None,
    user: ApplicationUser,
    agent_id: str | None = None,
    metadata_search: str = "",
    include_removed: bool = False,
) -> QuerySet[Conversation]:
    """The user's conversations, newest activity first (the client reads a bare array in this order)."""
    conversations = Conversation.objects.for_company(company).filter(user=user).select_related("agent")
    if not include_removed:
        conversations = conversations.filter(removed_from_history=False)
    if agent_id:
        conversations = conversations.filter(agent__public_id=agent_id)
    if metadata_search:
        # The metadata is free-form JSON (the mobile client sends a list): a text match on its serialized form,
        # and on the title, works on both databases.
        conversations = conversations.filter(
            Q(metadata__icontains=metadata_search) | Q(title__icontains=metadata_search)
        )
    return conversations.order_by("-last_updated", "-id")


def get_conversation_for_user(company: Company | None, user: ApplicationUser, public_id: str) -> Conversation:
    """The user's own conversation; Http404 for another user's or another company's."""
    conversation = (
        Conversation.objects.for_company(company)
        .filter(user=user, public_id=public_id)
        .select_related("agent", "company")
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.for_company(conversation.company).filter(conversation=conversation).order_by("created", "id")


def conversation_documents(*, conversation: Conversation) -> QuerySet[Document]:
    ids = ConversationFile.objects.filter(conversation=conversation).values("document_id")
    return Document.objects.for_company(conversation.company).filter(pk__in=ids).order_by("created", "id")


def history_turns(*, conversation: Conversation, limit: int) -> list[ChatTurn]:
    """The last ``limit`` messages of the conversation the engine sees (the agent's Max Messages), oldest first.
    Failed answers and system notes are the product's, not the model's: they are left out."""
    rows = list(
        Message.objects.for_company(conversation.company)
        .filter(conversation=conversation, message_type__in=[MessageType.USER, MessageType.AI])
        .exclude(status__in=[MessageStatus.FAILED, MessageStatus.IN_PROGRESS])
        .exclude(text="")
        .order_by("-created", "-id")
        .values_list("message_type", "text")[:limit]
    )
    return [ChatTurn("user" if kind == MessageType.USER else "assistant", text) for kind, text in reversed(rows)]


def context_documents(*, agent: Agent, conversation: Conversation | None) -> list[Document]:
    """The documents whose passages may be context: the agent's files' and the conversation's. One query."""
    scope = Q(pk__in=AgentDocument.objects.filter(agent=agent, document__isnull=False).values("document_id"))
    if conversation is not None:
        scope |= Q(pk__in=ConversationFile.objects.filter(conversation=conversation).values("document_id"))
    return list(Document.objects.for_company(agent.company).filter(scope).only("pk", "company_id"))


def message_for_user(
    company: Company | None, user: ApplicationUser, conversation: Conversation, public_id: str
) -> Message:
    message = Message.objects.for_company(company).filter(conversation=conversation, public_id=public_id).first()
    if message is None or conversation.user_id != user.pk:
        raise Http404("No such message.")
    return message
