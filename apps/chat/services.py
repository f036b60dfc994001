"""Writes of the chat: conversations, their files, feedback, and the agent's files' extracted text. Each write
leaves an audit event. The answers themselves are written by ``apps.chat.pipeline``."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApplicationUser
from apps.agents.models import Agent, AgentFile
from apps.agents.selectors import agents_usable_by
from apps.agents.services import agent_file_add, agent_file_delete
from apps.audit.services import Actor, audit_event_record
from apps.chat.models import AgentDocument, Conversation, ConversationFile, Feedback, Message, MessageType
from apps.companies.models import Company
from apps.documents.extraction import DocumentError, extract_text
from apps.documents.models import Document
from apps.documents.services import document_create, document_delete
from apps.scanners.pipeline import scan_file
from apps.scanners.selectors import scanner_settings_for
from apps.scanners.services import scan_hits_record

logger = logging.getLogger(__name__)


class ChatError(Exception):
    """A refused chat request: ``status`` is the HTTP status the API answers with, ``message`` for people."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


DOCUMENT_ERROR_STATUS = {DocumentError.TOO_LARGE: 413, DocumentError.UNSUPPORTED_TYPE: 415}


def _document_refused(error: DocumentError) -> ChatError:
    return ChatError(error.code, error.message, DOCUMENT_ERROR_STATUS.get(error.code, 400))


@transaction.atomic
def conversation_create(
    *,
    company: Company,
    user: ApplicationUser,
    actor: Actor,
    agent: Agent,
    title: str = "",
    metadata: Any = None,
    ip_address: str | None = None,
) -> Conversation:
    if agent.company_id != company.pk or not agents_usable_by(user=user).filter(pk=agent.pk).exists():
        raise ChatError("agent_not_found", "No such agent among the agents you may use.", 404)
    title = (title or "").strip()[:300]
    conversation = Conversation.objects.create(
        company=company,
        user=user,
        agent=agent,
        title=title,
        metadata=metadata if metadata is not None else [],
        ip_address=ip_address,
    )
    audit_event_record(
        action="chat.conversation_created",
        company=company,
        actor=actor,
        user=user,
        target=conversation,
        detail={"agent": agent.name, "title": title[:100]},
    )
    return conversation


@transaction.atomic
def conversation_hide(*, company: Company, actor: Actor, conversation: Conversation) -> None:
    """Remove from the user's history; the record stays for compliance."""
    Conversation.objects.filter(company=company, pk=conversation.pk).update(removed_from_history=True)
    audit_event_record(action="chat.conversation_hidden", company=company, actor=actor, target=conversation)


def conversation_file_add(
    *, company: Company, actor: Actor, conversation: Conversation, uploaded_file: UploadedFile
) -> ConversationFile:
    """Extract the file's text (in this thread: call it through sync_to_async from async code) and attach it."""
    if conversation.company_id != company.pk:
        raise ChatError("not_found", "No such conversation.", 404)
    limit = settings.CHAT_MAX_FILES_PER_CONVERSATION
    if ConversationFile.objects.filter(conversation=conversation).count() >= limit:
        raise ChatError("too_many_files", f"A conversation holds at most {limit} files.", 409)
    _scan_upload(company=company, actor=actor, conversation=conversation, uploaded_file=uploaded_file)
    try:
        document = document_create(company=company, actor=actor, uploaded_file=uploaded_file)
    except DocumentError as error:
        raise _document_refused(error) from error
    with transaction.atomic():
        attached = ConversationFile.objects.create(company=company, conversation=conversation, document=document)
        Message.objects.create(
            company=company,
            conversation=conversation,
            message_type=MessageType.SYSTEM,
            text=f"File added: {document.filename}",
            attachments=[{"documentId": document.public_id, "fileName": document.filename}],
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_updated=timezone.now())
        audit_event_record(
            action="chat.file_added",
            company=company,
            actor=actor,
            target=conversation,
            detail={"file": document.filename, "document": document.public_id, "size": document.size},
        )
    return attached


def _scan_upload(*, company: Company, actor: Actor, conversation: Conversation, uploaded_file: UploadedFile) -> None:
    """The agent's file scanners (type by content, then the text through the prompt scanners) before the file is
    stored: a blocked file is refused with the reason, and its hits are recorded either way."""
    if uploaded_file.size is None or uploaded_file.size > settings.DOCUMENT_MAX_BYTES:
        return  # document_create refuses it with the size limit; no point reading it here
    uploaded_file.seek(0)
    data = uploaded_file.read()
    uploaded_file.seek(0)
    name = uploaded_file.name or ""
    try:
        text = extract_text(filename=name, content=data, max_chars=settings.SCANNER_MAX_TEXT_CHARS).text
    except DocumentError:
        text = ""  # an image or an unsupported file: the type check decides, document_create explains the rest
    outcome = scan_file(scanner_settings_for(company, conversation.agent), data, name, text=text)
    with transaction.atomic():
        hits = scan_hits_record(
            company=company,
            actor=actor,
            results=outcome.hits,
            direction="file",
            source="file",
            agent=conversation.agent,
            conversation_public_id=conversation.public_id,
        )
        if hits:
            Conversation.objects.filter(pk=conversation.pk).update(has_flag=True)
    if not outcome.is_valid:
        type_refused = any(r.scanner == "file_type" for r in outcome.blocked_by)
        detail = next((r.details.get("message") for r in outcome.blocked_by if r.scanner == "file_type"), None)
        message = f"{outcome.block_reason()}: {detail}" if detail else outcome.block_reason()
        raise ChatError("blocked", message, 415 if type_refused else 400)


@transaction.atomic
def conversation_file_delete(*, company: Company, actor: Actor, attached: ConversationFile) -> None:
    document = attached.document
    audit_event_record(
        action="chat.file_deleted",
        company=company,
        actor=actor,
        target=attached.conversation,
        detail={"file": document.filename, "document": document.public_id},
    )
    attached.delete()
    document_delete(company=company, actor=actor, document=document)


def agent_files_add(
    *, company: Company, actor: Actor, agent: Agent, uploaded_files: list[UploadedFile]
) -> list[AgentDocument]:
    """Add files to the agent (the agents app keeps the bytes) with their extracted text, all or none."""
    if agent.company_id != company.pk or agent.is_deleted:
        raise ChatError("not_found", "No such agent.", 404)
    if not uploaded_files:
        raise ChatError("no_file", "Send at least one file (multipart form data).", 400)
    added: list[AgentDocument] = []
    created_documents: list[Document] = []
    try:
        for upload in uploaded_files:
            document = document_create(company=company, actor=actor, uploaded_file=upload)
            created_documents.append(document)
            upload.seek(0)
            with transaction.atomic():
                agent_file = agent_file_add(company=company, agent=agent, actor=actor, upload=upload)
                added.append(
                    AgentDocument.objects.create(company=company, agent=agent, agent_file=agent_file, document=document)
                )
    except DocumentError as error:
        _undo_agent_files(company, actor, added, created_documents)
        raise _document_refused(error) from error
    except Exception:
        _undo_agent_files(company, actor, added, created_documents)
        raise
    return added


def _undo_agent_files(company: Company, actor: Actor, added: list[AgentDocument], documents: list[Document]) -> None:
    for link in added:
        if link.agent_file is not None:
            agent_file_delete(company=company, agent_file=link.agent_file, actor=actor)
    for document in documents:
        document_delete(company=company, actor=actor, document=document)


@transaction.atomic
def agent_document_delete(*, company: Company, actor: Actor, link: AgentDocument) -> None:
    document, agent_file = link.document, link.agent_file
    link.delete()
    if agent_file is not None:
        agent_file_delete(company=company, agent_file=agent_file, actor=actor)
    if document is not None:
        document_delete(company=company, actor=actor, document=document)


def agent_documents_index(*, agent: Agent, actor: Actor) -> int:
    """Extract the text of the agent's files that have none yet (an admin uploaded them on the agent's page).
    Runs inside the pipeline's preparation, in a worker thread; a file that cannot be read is noted and skipped.
    Returns how many files were indexed now."""
    known = AgentDocument.objects.filter(agent=agent).values("agent_file_id")
    pending = AgentFile.objects.for_company(agent.company).filter(agent=agent).exclude(pk__in=known)
    count = 0
    for agent_file in pending:
        document, error = None, ""
        try:
            with agent_file.file.open("rb") as handle:
                content = handle.read(settings.DOCUMENT_MAX_BYTES + 1)
            document = document_create(company=agent.company, actor=actor, name=agent_file.name, content=content)
            count += 1
        except DocumentError as refusal:
            error = refusal.message[:300]
        except OSError as missing:
            logger.warning("agent file %s unreadable: %s", agent_file.pk, missing)
            error = "The stored file could not be read."
        AgentDocument.objects.create(
            company=agent.company, agent=agent, agent_file=agent_file, document=document, error=error
        )
    return count


@transaction.atomic
def message_feedback_set(*, company: Company, actor: Actor, message: Message, feedback: str | None) -> Message:
    if feedback not in (Feedback.LIKE, Feedback.DISLIKE, None):
        raise ChatError("invalid_feedback", "feedback must be Like or Dislike.", 400)
    if message.message_type != MessageType.AI:
        raise ChatError("invalid_message", "Feedback is given on the agent's answers only.", 400)
    Message.objects.filter(company=company, pk=message.pk).update(feedback=feedback)
    message.feedback = feedback
    audit_event_record(
        action="chat.feedback_given",
        company=company,
        actor=actor,
        target=message.conversation,
        detail={"message": message.public_id, "feedback": feedback or "none"},
    )
    return message
