"""Document passages sent to the engine as context get the same PII placeholders as the prompt (issue 11), against
the fake OpenAI server on loopback: the engine never sees the raw values, the user's citations and answer do."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.services import Actor
from apps.chat.models import Conversation, Message
from apps.chat.services import conversation_create, conversation_file_add
from apps.chat.tests.test_pipeline import collect, prompt
from apps.engines.fakes import Script
from apps.scanners.services import agent_scanner_override_set

pytestmark = pytest.mark.django_db(transaction=True)

HANDBOOK = (
    b"Parental leave lasts sixteen weeks at full pay.\n"
    b"Questions about parental leave go to jane.roe@example.com or +44 20 7946 0958.\n"
)


@pytest.fixture
def conversation(company, plain_user, agent):
    conversation = conversation_create(
        company=company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="Leave"
    )
    conversation_file_add(
        company=company,
        actor=Actor(user=plain_user),
        conversation=conversation,
        uploaded_file=SimpleUploadedFile("handbook.txt", HANDBOOK, content_type="text/plain"),
    )
    return conversation


def test_a_conversation_files_passages_reach_the_engine_with_placeholders_only(conversation, fake_llm):
    fake_llm.script = Script(text="Parental leave lasts sixteen weeks; write to [EMAIL_1] or call [PHONE_1].")

    handle, events = collect(prompt(conversation, text="How long is parental leave and whom do I ask?"))

    sent = json.dumps(fake_llm.last.json)  # the request body the engine received
    assert "sixteen weeks" in sent  # the passage did go as context
    assert "[EMAIL_1]" in sent and "[PHONE_1]" in sent
    assert "jane.roe" not in sent and "7946" not in sent
    # The user sees the originals: in the restored answer and in the citations.
    shown = events[-1].text
    assert shown == "Parental leave lasts sixteen weeks; write to jane.roe@example.com or call +44 20 7946 0958."
    assert "jane.roe@example.com" in events[-1].citations[0]["text"]
    assert Message.objects.get(public_id=handle.message_id).text == shown
    # The passage's placeholders are kept with the conversation, so later turns number them the same way.
    stored = json.loads(Conversation.objects.get(pk=conversation.pk).redaction_map)
    assert stored["[EMAIL_1]"] == "jane.roe@example.com"

    fake_llm.script = Script(text="Yes.")
    collect(prompt(conversation, text="Is jane.roe@example.com still right, or bob@example.com?"))

    sent = json.dumps(fake_llm.last.json)
    assert "jane.roe" not in sent and "bob@example.com" not in sent and "7946" not in sent
    assert "Is [EMAIL_1] still right, or [EMAIL_2]?" in sent


def test_a_prompt_and_a_passage_share_one_placeholder_for_one_value(conversation, fake_llm):
    fake_llm.script = Script(text="Yes, [EMAIL_1] handles it.")

    _handle, events = collect(prompt(conversation, text="Does bob@example.com handle parental leave?"))

    sent = json.dumps(fake_llm.last.json)
    assert "Does [EMAIL_1] handle parental leave?" in sent  # the prompt is scanned first
    assert "[EMAIL_2]" in sent and "jane.roe" not in sent  # the passage's address comes next
    assert events[-1].text == "Yes, bob@example.com handles it."


def test_passages_are_sent_as_they_are_when_the_agent_does_not_redact(conversation, fake_llm, company, agent):
    agent_scanner_override_set(
        company=company,
        actor=Actor.system(),
        agent=agent,
        scanner="pii",
        enabled=True,
        settings={"prompt_action": "flag"},
    )
    fake_llm.script = Script(text="Ask HR.")

    collect(prompt(conversation, text="Whom do I ask about parental leave?"))

    sent = json.dumps(fake_llm.last.json)
    assert "jane.roe@example.com" in sent and "[EMAIL_1]" not in sent
