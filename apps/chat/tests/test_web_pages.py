"""The chat pages over Django's test client: agent picker, starting a conversation, the answer's event stream
(through the real pipeline and the fake OpenAI server), Stop, files, feedback, the conversation list, and the
404s for what is not the user's."""

import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.agents.models import AgentUserGrant, CompanyProfile
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.chat.models import Conversation, Feedback, Message, MessageStatus, MessageType
from apps.chat.services import conversation_create
from apps.chat.web import format_cost
from tests.factories import AgentFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def user_client(client, plain_user):
    client.force_login(plain_user)
    return client


@pytest.fixture
def conversation(company, plain_user, agent):
    actor = Actor(user=plain_user)
    return conversation_create(company=company, user=plain_user, actor=actor, agent=agent, title="Leave")


def events_of(response) -> list[tuple[str, dict]]:
    body = b"".join(response.streaming_content).decode()
    return [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in body.strip().split("\n\n")
    ]


def ai_message(conversation, text, **fields) -> Message:
    return Message.objects.create(
        company=conversation.company, conversation=conversation, message_type=MessageType.AI, text=text, **fields
    )


# --- the agent picker ---------------------------------------------------------------------------------------------


def test_without_an_agent_the_page_says_what_to_do(user_client):
    html = user_client.get(reverse("chat:index")).content.decode()

    assert 'id="no-agent"' in html
    assert "No agent is assigned to you yet" in html and "company admin" in html
    assert "No conversations yet" in html


def test_the_default_agent_is_preselected_with_its_greeting_and_suggestions(user_client, company, plain_user, agent):
    second = AgentFactory(
        company=company,
        name="Finance bot",
        greeting="Ask me about budgets",
        greeting_description="I know the 2026 budget.",
        suggested_prompts="What is our travel budget?\nWho approves expenses?",
    )
    AgentUserGrant.objects.create(company=company, agent=second, user=plain_user)
    CompanyProfile.objects.update_or_create(company=company, defaults={"default_agent": second})

    html = user_client.get(reverse("chat:index")).content.decode()

    assert f'<option value="{second.public_id}" selected>Finance bot</option>' in html
    assert f'<option value="{agent.public_id}">HR assistant</option>' in html
    assert "Ask me about budgets" in html and "I know the 2026 budget." in html
    assert 'name="suggested" value="What is our travel budget?"' in html
    assert 'name="suggested" value="Who approves expenses?"' in html


def test_only_the_agents_the_user_may_use_are_offered(user_client, company, agent, other_agent):
    ungranted = AgentFactory(company=company, name="Secret bot")
    inactive = AgentFactory(company=company, name="Retired bot", is_active=False)

    html = user_client.get(reverse("chat:index")).content.decode()

    assert "HR assistant" in html
    assert "Secret bot" not in html and "Retired bot" not in html and "Globex bot" not in html
    for other in (ungranted, inactive, other_agent):
        assert user_client.get(reverse("chat:index"), {"agent": other.public_id}).status_code == 404
        response = user_client.post(reverse("chat:start"), {"agent": other.public_id, "text": "hi"})
        assert response.status_code == 404
    assert not Conversation.objects.exists()


def test_starting_a_conversation_keeps_the_prompt_for_the_page_to_send(user_client, agent):
    typed = {"agent": agent.public_id, "text": "  How many days of leave?  "}
    response = user_client.post(reverse("chat:start"), typed)

    conversation = Conversation.objects.get()
    assert response.url == reverse("chat:conversation", args=[conversation.public_id])
    assert conversation.title == "How many days of leave?" and conversation.agent == agent
    page = user_client.get(response.url).content.decode()
    assert 'data-pending="How many days of leave?"' in page
    # Sent once: a reload does not ask again.
    assert 'data-pending=""' in user_client.get(response.url).content.decode()


def test_a_suggested_prompt_starts_the_conversation(user_client, agent):
    user_client.post(reverse("chat:start"), {"agent": agent.public_id, "text": "", "suggested": "Who approves leave?"})

    assert Conversation.objects.get().title == "Who approves leave?"


def test_an_empty_prompt_does_not_start_a_conversation(user_client, agent):
    response = user_client.post(reverse("chat:start"), {"agent": agent.public_id, "text": "   "}, follow=True)

    assert not Conversation.objects.exists()
    assert "Type a question" in response.content.decode()


# --- the conversation page ------------------------------------------------------------------------------------------


def test_the_conversation_page_renders_messages_sanitized_with_cost_and_feedback(user_client, conversation):
    Message.objects.create(
        company=conversation.company, conversation=conversation, message_type=MessageType.USER, text="<b>hi</b>"
    )
    answer = ai_message(
        conversation,
        "Here:\n\n- one\n- two\n\n<script>alert(1)</script> [x](javascript:alert(1))",
        cost=Decimal("0.0123"),
        citations=[{"fileName": "policy.md", "chunk": 0}, {"fileName": "policy.md", "chunk": 1}],
    )
    Conversation.objects.filter(pk=conversation.pk).update(total_cost=Decimal("0.0123"))

    html = user_client.get(reverse("chat:conversation", args=[conversation.public_id])).content.decode()

    assert "&lt;b&gt;hi&lt;/b&gt;" in html
    assert "<li>one</li>" in html
    assert "<script>alert(1)</script>" not in html and 'href="javascript:' not in html
    assert '<strong id="conversation-cost">$0.0123</strong>' in html
    assert f'id="feedback-{answer.public_id}"' in html
    assert html.count('<span class="source">policy.md</span>') == 1


def test_another_users_conversation_is_404_everywhere(client, admin_user, conversation):
    client.force_login(admin_user)
    answer = ai_message(conversation, "secret")
    cid = conversation.public_id

    assert client.get(reverse("chat:conversation", args=[cid])).status_code == 404
    assert client.post(reverse("chat:ask", args=[cid]), {"text": "hi"}).status_code == 404
    assert client.post(reverse("chat:stop", args=[cid]), {"message": answer.public_id}).status_code == 404
    assert client.get(reverse("chat:message", args=[cid, answer.public_id])).status_code == 404
    assert client.post(reverse("chat:feedback", args=[cid, answer.public_id]), {"feedback": "Like"}).status_code == 404
    upload = SimpleUploadedFile("a.txt", b"text")
    assert client.post(reverse("chat:attach", args=[cid]), {"file": upload}).status_code == 404
    assert client.post(reverse("chat:remove", args=[cid])).status_code == 404
    assert client.get(reverse("chat:conversation", args=["no-such-id"])).status_code == 404
    assert not Conversation.objects.get(pk=conversation.pk).removed_from_history


def test_removing_a_conversation_from_history_keeps_the_record(user_client, conversation):
    cid = conversation.public_id
    assert 'id="remove-conversation"' in user_client.get(reverse("chat:conversation", args=[cid])).content.decode()
    assert user_client.get(reverse("chat:remove", args=[cid])).status_code == 405

    response = user_client.post(reverse("chat:remove", args=[cid]), follow=True)

    assert response.redirect_chain == [(reverse("chat:index"), 302)]
    html = response.content.decode()
    assert "was removed from your history" in html and cid not in html  # gone from the side list
    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.removed_from_history  # kept for compliance
    event = AuditEvent.objects.get(action="chat.conversation_hidden")
    assert event.target_type == "chat.conversation" and event.target_id == conversation.public_id
    assert user_client.get(reverse("chat:conversation", args=[cid])).status_code == 404
    assert user_client.post(reverse("chat:remove", args=[cid])).status_code == 404


def test_a_conversation_whose_agent_was_withdrawn_can_be_read_but_not_continued(user_client, conversation, agent):
    AgentUserGrant.objects.filter(agent=agent).delete()

    html = user_client.get(reverse("chat:conversation", args=[conversation.public_id])).content.decode()

    assert 'id="agent-gone"' in html and 'id="ask-form"' not in html


# --- the stream -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_asking_streams_the_answer_and_stores_it(user_client, conversation):
    response = user_client.post(reverse("chat:ask", args=[conversation.public_id]), {"text": "How many days?"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    events = events_of(response)
    names = [name for name, _ in events]
    assert names[0] == "started" and names[-1] == "finished" and set(names[1:-1]) == {"delta"}
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert streamed == "The policy allows twenty days of leave."
    message_id = events[0][1]["message_id"]
    answer = Message.objects.get(public_id=message_id)
    assert answer.status == MessageStatus.COMPLETED and answer.text.startswith("The policy")

    fragment = user_client.get(reverse("chat:message", args=[conversation.public_id, message_id]))
    conversation.refresh_from_db()
    assert fragment["X-Conversation-Cost"] == format_cost(conversation.total_cost) != "$0.0000"
    assert "<p>The policy allows twenty days of leave.</p>" in fragment.content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_engine_failure_is_a_readable_failed_event(user_client, conversation, fake_llm):
    fake_llm.script.status = 401

    events = events_of(user_client.post(reverse("chat:ask", args=[conversation.public_id]), {"text": "hi"}))

    assert events[-1][0] == "failed" and events[-1][1]["message"]


def test_an_empty_prompt_is_refused_before_the_stream(user_client, conversation):
    response = user_client.post(reverse("chat:ask", args=[conversation.public_id]), {"text": " "})

    assert response.status_code == 400
    assert not Message.objects.filter(conversation=conversation).exists()


def test_the_stream_needs_the_csrf_token(plain_user, conversation):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(plain_user)

    assert strict.post(reverse("chat:ask", args=[conversation.public_id]), {"text": "hi"}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_stop_of_an_answer_that_is_not_running_says_so(user_client, conversation):
    done = ai_message(conversation, "done")

    response = user_client.post(reverse("chat:stop", args=[conversation.public_id]), {"message": done.public_id})

    assert response.json() == {"stopped": False}


# --- feedback, files, the list ---------------------------------------------------------------------------------------


def test_like_then_like_again_takes_it_back_and_dislike_replaces_it(user_client, conversation):
    answer = ai_message(conversation, "ok")
    url = reverse("chat:feedback", args=[conversation.public_id, answer.public_id])

    liked = user_client.post(url, {"feedback": "Like"}, headers=HTMX)
    answer.refresh_from_db()
    assert answer.feedback == Feedback.LIKE
    assert 'value="Like" class="icon-button is-on"' in liked.content.decode()
    user_client.post(url, {"feedback": "Like"}, headers=HTMX)
    answer.refresh_from_db()
    assert answer.feedback is None
    user_client.post(url, {"feedback": "Dislike"}, headers=HTMX)
    answer.refresh_from_db()
    assert answer.feedback == Feedback.DISLIKE
    assert user_client.post(url, {"feedback": "Love"}).status_code == 400
    assert AuditEvent.objects.filter(action="chat.feedback_given").count() == 3


def test_feedback_on_a_user_message_is_refused(user_client, conversation):
    mine = Message.objects.create(
        company=conversation.company, conversation=conversation, message_type=MessageType.USER, text="q"
    )
    url = reverse("chat:feedback", args=[conversation.public_id, mine.public_id])

    assert user_client.post(url, {"feedback": "Like"}).status_code == 400


def test_attaching_a_file_lists_it_and_refuses_a_bad_type(user_client, conversation):
    url = reverse("chat:attach", args=[conversation.public_id])

    ok = user_client.post(url, {"file": SimpleUploadedFile("notes.md", b"# Notes\n\nBudget 40k.")}, follow=True)
    bad = user_client.post(url, {"file": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40)}, follow=True)
    none = user_client.post(url, {}, follow=True)

    assert "notes.md is attached" in ok.content.decode()
    assert "<li>notes.md</li>" in ok.content.decode()
    assert "x.png:" in bad.content.decode() and "<li>x.png</li>" not in bad.content.decode()
    assert "Choose a file" in none.content.decode()
    assert conversation.files.count() == 1


def test_the_conversation_list_is_searched_and_paged_with_htmx(user_client, company, plain_user, agent):
    for n in range(18):
        conversation_create(company=company, user=plain_user, actor=Actor(), agent=agent, title=f"Topic {n:02d}")
    conversation_create(company=company, user=plain_user, actor=Actor(), agent=agent, title="Budget question")
    url = reverse("chat:conversations")

    first = user_client.get(url, headers=HTMX).content.decode()
    second = user_client.get(url, {"page": 2}, headers=HTMX).content.decode()
    found = user_client.get(url, {"q": "budget"}, headers=HTMX).content.decode()
    nothing = user_client.get(url, {"q": "zebra"}, headers=HTMX).content.decode()

    assert first.strip().startswith('<nav id="conversation-list"') and "<html" not in first
    assert len(re.findall(r'class="conv-title"', first)) == 15 and "1 / 2" in first and 'id="page-older"' in first
    assert len(re.findall(r'class="conv-title"', second)) == 4 and 'id="page-newer"' in second
    assert "Budget question" in found and "Topic" not in found
    assert "No conversation matches" in nothing
    # Without htmx: the chat page with that list.
    assert user_client.get(url, {"q": "budget"}).url == reverse("chat:index") + "?q=budget"


def test_the_list_shows_only_the_users_own_conversations(client, admin_user, conversation):
    client.force_login(admin_user)

    html = client.get(reverse("chat:conversations"), headers=HTMX).content.decode()

    assert "Leave" not in html and "No conversations yet" in html


def test_costs_are_formatted_for_people():
    assert format_cost(Decimal("0")) == "$0.0000"
    assert format_cost(Decimal("0.00001")) == "< $0.0001"
    assert format_cost(Decimal("1.23456")) == "$1.2346"
