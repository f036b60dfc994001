"""Reads of conversations, always scoped to one company and one user."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from apps.accounts.models import ApplicationUser
from apps.agents.models import Agent, AgentFile, ProviderCredential
from apps.agents.selectors import agents_usable_by
from apps.chat.models import AgentDocument, Conversation, ConversationFile, Message, MessageStatus, MessageType
from apps.companies.models import Company
from apps.core.statements import Statement
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
    """The user's own conversation, with its agent; Http404 for another user's or another company's.

    Every prompt starts here, so the two reads (the conversation, its agent) run SQL built once per process."""
    conversation = _own_conversation(company, user, public_id)
    conversation.agent = _AGENT.first(pk=conversation.agent_id)
    return conversation


def prompt_conversation(company: Company | None, user: ApplicationUser, public_id: str) -> Conversation:
    """The user's own conversation for a prompt, in one query; Http404 for another user's or another company's.

    Its agent is not read here: the prompt's preparation reads it with the user's access checked
    (``prompt_agent_later``) and puts that row in place of the reference set here, which carries only the keys."""
    conversation = _own_conversation(company, user, public_id)
    conversation.agent = Agent(pk=conversation.agent_id, company_id=conversation.company_id)
    return conversation


def _own_conversation(company: Company | None, user: ApplicationUser, public_id: str) -> Conversation:
    if company is None:
        raise Http404("No such conversation.")
    conversation = _CONVERSATION.first(company_pk=company.pk, user_pk=user.pk, public_id=str(public_id))
    if conversation is None:
        raise Http404("No such conversation.")
    conversation.company = company  # the row was read by this company: no query for it
    return conversation


# With its agent's Max Messages (``agent_max_messages``): the prompt's history is read in the same round trip as its
# agent (``apps.chat.pipeline``), so its length cannot wait for the agent's row.
_CONVERSATION = Statement(
    lambda *, company_pk, user_pk, public_id: (
        Conversation.objects.for_company(Company(pk=company_pk))
        .filter(user_id=user_pk, public_id=public_id)
        .annotate(agent_max_messages=F("agent__max_messages"))[:1]
    ),
    public_id="str",
)
_AGENT = Statement(lambda *, pk: Agent.objects.filter(pk=pk))


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.for_company(conversation.company).filter(conversation=conversation).order_by("created", "id")


def conversation_documents(*, conversation: Conversation) -> QuerySet[Document]:
    ids = ConversationFile.objects.filter(conversation=conversation).values("document_id")
    return Document.objects.for_company(conversation.company).filter(pk__in=ids).order_by("created", "id")


def history_turns_later(*, conversation: Conversation, limit: int) -> Callable[[], list[ChatTurn]]:
    """The last ``limit`` messages of the conversation the engine sees (the agent's Max Messages), oldest first.
    Failed answers and system notes are the product's, not the model's: they are left out. Read before every
    answer's first token: its SQL is built once per process and limit (``Statement``).

    In two steps: the query is sent now (inside ``apps.core.statements.together``, with the other reads of a
    prompt), and the returned function makes the turns of its rows."""
    if limit <= 0:
        return list
    sent = _history_statement(limit).send(company_pk=conversation.company_id, conversation_pk=conversation.pk)
    return lambda: [
        ChatTurn("user" if kind == MessageType.USER else "assistant", text) for kind, text in reversed(sent.rows())
    ]


def _history_query(*, company_pk: int, conversation_pk: int, limit: int) -> QuerySet:
    return (
        Message.objects.for_company(Company(pk=company_pk))
        .filter(conversation_id=conversation_pk, message_type__in=[MessageType.USER, MessageType.AI])
        .exclude(status__in=[MessageStatus.FAILED, MessageStatus.IN_PROGRESS])
        .exclude(text="")
        .order_by("-created", "-id")
        .values_list("message_type", "text")[:limit]
    )


@lru_cache(maxsize=64)
def _history_statement(limit: int) -> Statement:
    return Statement(partial(_history_query, limit=limit))


def prompt_agent_later(
    *, user: ApplicationUser, agent: Agent, conversation: Conversation | None
) -> Callable[[], Agent | None]:
    """The agent of a prompt, read fresh in one query: None when the user may no longer use it (the agents app's
    ``agents_usable_by`` decides), else the row annotated with what the preparation must know before it reads
    anything more, so that it reads only what exists:

    - ``pending_files``: the agent has files whose text is not extracted yet (``agent_documents_index``);
    - ``agent_documents``, ``conversation_files``: there are documents whose passages may be context;
    - ``credential_pk``: the company's provider credential for the agent's engine, or None.

    It runs before every answer's first token, so its SQL is built once per process (``Statement``). In two steps:
    the query is sent now (inside ``apps.core.statements.together``, with the other reads of a prompt), and the
    returned function gives its row. Only ``agent.pk`` is read.
    """
    if not user.is_active or user.company_id is None:
        return lambda: None  # as agents_usable_by: such a user may use no agent
    sent = _PROMPT_AGENT.send(
        user_pk=user.pk,
        company_pk=user.company_id,
        agent_pk=agent.pk,
        conversation_pk=conversation.pk if conversation is not None else 0,
    )
    return sent.first


def _prompt_agent_query(*, user_pk: int, company_pk: int, agent_pk: int, conversation_pk: int) -> QuerySet[Agent]:
    user = ApplicationUser(pk=user_pk, company_id=company_pk, is_active=True)
    return (
        agents_usable_by(user=user)
        .filter(pk=agent_pk)
        .annotate(
            pending_files=Exists(
                AgentFile.objects.filter(company_id=OuterRef("company_id"), agent=OuterRef("pk")).filter(
                    ~Exists(AgentDocument.objects.filter(agent_file=OuterRef("pk")))
                )
            ),
            agent_documents=Exists(AgentDocument.objects.filter(agent=OuterRef("pk"), document__isnull=False)),
            # conversation_pk 0: a one-off exchange, no conversation (no row has primary key 0).
            conversation_files=Exists(ConversationFile.objects.filter(conversation_id=conversation_pk)),
            credential_pk=Subquery(
                ProviderCredential.objects.filter(company_id=OuterRef("company_id"), engine=OuterRef("engine")).values(
                    "pk"
                )[:1]
            ),
        )[:1]
    )


_PROMPT_AGENT = Statement(_prompt_agent_query)


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
