"""Conversations, files, feedback and the agent's files' text: the services and their refusals."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from apps.agents.models import AgentFile
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.chat.models import AgentDocument, ConversationFile, Message, MessageType
from apps.chat.selectors import context_documents, conversation_list, get_conversation_for_user
from apps.chat.services import (
    ChatError,
    agent_documents_index,
    agent_files_add,
    conversation_create,
    conversation_file_add,
    message_feedback_set,
)

pytestmark = pytest.mark.django_db


def test_conversation_create_is_audited(conversation):
    assert AuditEvent.objects.get(action="chat.conversation_created").target_id == conversation.public_id


def test_conversation_on_another_companys_agent_is_refused(company, plain_user, other_agent):
    with pytest.raises(ChatError) as refused:
        conversation_create(company=company, user=plain_user, actor=Actor(), agent=other_agent)
    assert refused.value.status == 404


def test_another_users_conversation_is_404(conversation, company, admin_user):
    from django.http import Http404

    with pytest.raises(Http404):
        get_conversation_for_user(company, admin_user, conversation.public_id)
    assert list(conversation_list(company=company, user=admin_user)) == []


def test_file_added_to_conversation_is_extracted_and_noted(conversation, company, plain_user):
    upload = SimpleUploadedFile("notes.md", b"# Notes\n\nThe budget is 40k.\n")
    attached = conversation_file_add(
        company=company, actor=Actor(user=plain_user), conversation=conversation, uploaded_file=upload
    )

    assert attached.document.filename == "notes.md"
    assert Message.objects.get(conversation=conversation).message_type == MessageType.SYSTEM


def test_unsupported_file_type_is_a_415(conversation, company, plain_user):
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(ChatError) as refused:
        conversation_file_add(company=company, actor=Actor(), conversation=conversation, uploaded_file=upload)
    assert refused.value.status == 415 and not ConversationFile.objects.exists()


@override_settings(CHAT_MAX_FILES_PER_CONVERSATION=1)
def test_files_per_conversation_are_limited(conversation, company):
    conversation_file_add(
        company=company, actor=Actor(), conversation=conversation, uploaded_file=SimpleUploadedFile("a.txt", b"alpha")
    )
    with pytest.raises(ChatError) as refused:
        conversation_file_add(
            company=company,
            actor=Actor(),
            conversation=conversation,
            uploaded_file=SimpleUploadedFile("b.txt", b"beta"),
        )
    assert refused.value.status == 409


def test_feedback_only_on_answers_and_only_like_or_dislike(conversation, company):
    answer = Message.objects.create(company=company, conversation=conversation, message_type=MessageType.AI, text="x")
    question = Message.objects.create(
        company=company, conversation=conversation, message_type=MessageType.USER, text="y"
    )

    assert message_feedback_set(company=company, actor=Actor(), message=answer, feedback="Like").feedback == "Like"
    with pytest.raises(ChatError):
        message_feedback_set(company=company, actor=Actor(), message=answer, feedback="Meh")
    with pytest.raises(ChatError):
        message_feedback_set(company=company, actor=Actor(), message=question, feedback="Like")


def test_agent_files_added_over_the_api_are_indexed_all_or_none(company, admin_user, agent):
    good = SimpleUploadedFile("policy.txt", b"Remote work needs approval.")
    bad = SimpleUploadedFile("binary.exe", b"MZ\x00\x00")
    with pytest.raises(ChatError):
        agent_files_add(company=company, actor=Actor(user=admin_user), agent=agent, uploaded_files=[good, bad])
    assert not AgentFile.objects.exists() and not AgentDocument.objects.exists()

    good.seek(0)
    links = agent_files_add(company=company, actor=Actor(user=admin_user), agent=agent, uploaded_files=[good])
    assert links[0].document.filename == "policy.txt"
    assert context_documents(agent=agent, conversation=None) == [links[0].document]


def test_files_an_admin_uploaded_on_the_agent_page_are_indexed_on_first_use(company, admin_user, agent):
    from apps.agents.services import agent_file_add

    agent_file_add(
        company=company, agent=agent, actor=Actor(user=admin_user), upload=SimpleUploadedFile("faq.txt", b"Ask HR.")
    )

    assert agent_documents_index(agent=agent, actor=Actor()) == 1
    assert agent_documents_index(agent=agent, actor=Actor()) == 0
    assert len(context_documents(agent=agent, conversation=None)) == 1


def test_a_company_with_conversations_and_usage_can_still_be_deleted(conversation, company, agent):
    from apps.chat.models import Conversation, UsageRecord

    UsageRecord.objects.create(company=company, user=conversation.user, agent=agent, conversation=conversation)
    company.delete()
    assert not Conversation.objects.exists() and not UsageRecord.objects.exists()


def test_an_agent_with_conversations_cannot_be_hard_deleted(conversation, agent):
    from django.db.models import RestrictedError

    with pytest.raises(RestrictedError):
        agent.delete()
