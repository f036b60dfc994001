"""AskAgent and ChatWithAgent over a live ASGI server (uvicorn), read as the deployed client reads them."""

import json
import time

import pytest
import requests
from django.db import OperationalError

from apps.audit.services import Actor
from apps.chat.models import Message, MessageStatus, UsageRecord
from apps.chat.services import conversation_create

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED_ORDER = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]


@pytest.fixture
def conversation(company, plain_user, agent):
    return conversation_create(company=company, user=plain_user, actor=Actor(user=plain_user), agent=agent, title="T")


def sse_events(response):
    """(name, data) pairs, parsing the wire format by hand: blank-line separated, comments ignored."""
    name, data = None, []
    for raw in response.iter_lines(decode_unicode=True):
        if raw == "":
            if name is not None:
                yield name, "\n".join(data)
            name, data = None, []
        elif raw.startswith(":"):
            continue
        elif raw.startswith("event: "):
            name = raw[7:]
        elif raw.startswith("data: "):
            data.append(raw[6:])


def status_of(message_id):
    # The in-memory SQLite test database locks whole tables while the server's thread writes: read again. The
    # prompt's rows are written while the engine is asked, so they may appear a moment after the first delta.
    for _attempt in range(100):
        try:
            return Message.objects.get(public_id=message_id).status
        except (OperationalError, Message.DoesNotExist):
            time.sleep(0.02)
    raise AssertionError("the message table stayed locked, or the answer's row never appeared")


def wait_until_stored(message_id):
    deadline = time.monotonic() + 10
    while status_of(message_id) == MessageStatus.IN_PROGRESS and time.monotonic() < deadline:
        time.sleep(0.05)
    return Message.objects.get(public_id=message_id)


def ask(server, token, body, accept="text/event-stream", **kwargs):
    return requests.post(
        f"{server.url}/api/Chat/AskAgent",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
        stream=accept == "text/event-stream",
        timeout=30,
        **kwargs,
    )


def test_ask_agent_streams_the_assistants_events_in_order(asgi_server, user_token, conversation):
    response = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    assert "prepare;dur=" in response.headers["Server-Timing"]
    events = list(sse_events(response))
    names = [name for name, _ in events]
    assert names[:7] == EXPECTED_ORDER
    assert names[-4:] == ["thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done"]
    assert events[-1][1] == "[DONE]"
    created = json.loads(events[5][1])
    deltas = [json.loads(data) for name, data in events if name == "thread.message.delta"]
    assert (
        "".join(d["delta"]["content"][0]["text"]["value"] for d in deltas) == "The policy allows twenty days of leave."
    )
    assert all(d["id"] == created["id"] for d in deltas)
    completed_run = json.loads(events[-2][1])
    assert completed_run["usage"]["total_tokens"] == 28 and completed_run["thread_id"] == conversation.public_id
    assert "engine;dur=" in completed_run["metadata"]["server_timing"]
    assert wait_until_stored(created["id"]).status == MessageStatus.COMPLETED


def test_first_delta_reaches_the_client_before_the_engine_finishes(asgi_server, user_token, conversation, fake_llm):
    fake_llm.script.deltas, fake_llm.script.delay = 5, 0.4
    response = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})
    started = time.monotonic()
    for name, data in sse_events(response):
        if name == "thread.message.delta":
            message_id = json.loads(data)["id"]
            break
    first_delta_after = time.monotonic() - started

    # The engine needs 4 x 0.4 s more for the rest: the answer is still being generated.
    assert first_delta_after < 1.0
    assert status_of(message_id) == MessageStatus.IN_PROGRESS
    response.close()
    assert wait_until_stored(message_id).status == MessageStatus.COMPLETED


def test_client_that_disconnects_still_gets_the_answer_stored_and_billed(
    asgi_server, user_token, conversation, fake_llm
):
    fake_llm.script.deltas, fake_llm.script.delay = 6, 0.1
    response = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})
    for name, data in sse_events(response):
        if name == "thread.message.delta":
            message_id = json.loads(data)["id"]
            break
    response.close()  # the phone lost its connection

    answer = wait_until_stored(message_id)
    assert answer.status == MessageStatus.COMPLETED and answer.text == "The policy allows twenty days of leave."
    assert UsageRecord.objects.get(message=answer).cost > 0
    detail = requests.get(
        f"{asgi_server.url}/api/Chat/GetConversation/{conversation.public_id}",
        headers={"Authorization": f"Bearer {user_token}"},
        timeout=10,
    ).json()
    assert detail["messages"][-1]["text"] == "The policy allows twenty days of leave."


def test_cancel_call_stops_the_answer_and_it_is_stored_incomplete(asgi_server, user_token, conversation, fake_llm):
    fake_llm.script.deltas, fake_llm.script.delay = 10, 0.3
    response = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})
    names = []
    for name, data in sse_events(response):
        names.append(name)
        if name == "thread.message.created":
            message_id = json.loads(data)["id"]
        if name == "thread.message.delta" and names.count(name) == 1:
            cancel = requests.post(
                f"{asgi_server.url}/api/Chat/CancelAnswer/{message_id}",
                headers={"Authorization": f"Bearer {user_token}"},
                timeout=10,
            )
            assert cancel.status_code == 200
        if name == "thread.message.incomplete":
            assert json.loads(data)["incomplete_details"] == {"reason": "cancelled"}

    assert "thread.message.incomplete" in names and names[-1] == "done"
    assert wait_until_stored(message_id).status == MessageStatus.INCOMPLETE


def test_engine_error_is_a_run_failed_event_never_a_500(asgi_server, user_token, conversation, fake_llm):
    fake_llm.script.status = 429
    response = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})

    events = list(sse_events(response))
    assert response.status_code == 200
    assert [name for name, _ in events][-2:] == ["thread.run.failed", "done"]
    run = json.loads(events[-2][1])
    assert run["status"] == "failed" and run["last_error"]["code"] == "rate_limit_exceeded"
    assert "error" not in run  # the OpenAI SDK raises on a data object with an "error" key


def test_json_mode_returns_the_finished_ai_message(asgi_server, user_token, conversation):
    response = ask(
        asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"}, accept="application/json"
    )

    body = response.json()
    assert response.status_code == 200 and body["messageType"] == "AI"
    assert body["text"] == "The policy allows twenty days of leave." and body["cost"] > 0
    assert "store;dur=" in response.headers["Server-Timing"]


def test_chat_with_agent_is_a_one_off_exchange(asgi_server, user_token, agent):
    response = requests.post(
        f"{asgi_server.url}/api/chat/chatwithagent",
        json={"agentId": agent.public_id, "text": "Hi", "messages": [{"messageType": "User", "text": "Earlier"}]},
        headers={"Authorization": f"Bearer {user_token}", "Accept": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["text"]
    assert UsageRecord.objects.get().conversation is None


def test_another_users_conversation_is_404_and_a_generic_token_403(
    asgi_server, admin_token, generic_token, conversation
):
    other = ask(asgi_server, admin_token, {"conversationID": conversation.public_id, "text": "x"})
    generic = ask(asgi_server, generic_token, {"conversationID": conversation.public_id, "text": "x"})

    assert other.status_code == 404 and other.headers["Content-Type"].startswith("application/problem+json")
    assert generic.status_code == 403 and "user token" in generic.json()["detail"]


def test_prompt_rate_limit_is_a_429_with_retry_after(asgi_server, user_token, conversation, settings):
    settings.CHAT_RATE_PER_USER = "1/min"
    first = ask(
        asgi_server, user_token, {"conversationID": conversation.public_id, "text": "a"}, accept="application/json"
    )
    second = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "b"})

    assert first.status_code == 200
    assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1


def test_too_long_prompt_and_missing_fields_are_400(asgi_server, user_token, conversation, settings):
    settings.CHAT_MAX_PROMPT_CHARS = 5
    too_long = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "x" * 6})
    missing = ask(asgi_server, user_token, {"text": "x"})
    not_json = requests.post(
        f"{asgi_server.url}/api/Chat/AskAgent", data=b"{", headers={"Authorization": f"Bearer {user_token}"}, timeout=10
    )

    assert (too_long.status_code, missing.status_code, not_json.status_code) == (400, 400, 400)


def test_a_slow_engine_keeps_the_stream_alive_with_pings_between_deltas(
    asgi_server, user_token, conversation, fake_llm, settings
):
    settings.CHAT_PING_SECONDS = 0.05  # the server runs in this process: it reads the same settings
    fake_llm.script.deltas, fake_llm.script.delay = 3, 0.3
    response = ask(asgi_server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})

    body = response.content.decode()

    # A comment line between the deltas while the engine is quiet, and the answer whole all the same.
    between = body.split("event: thread.message.delta", 1)[1].rsplit("event: thread.message.delta", 1)[0]
    assert ": ping\n\n" in between
    assert body.count("event: thread.message.delta") == 3 and "event: thread.run.completed" in body
    assert body.rstrip().endswith("data: [DONE]")


def test_the_history_sent_is_capped_at_the_agents_max_messages(asgi_server, user_token, conversation, fake_llm):
    # Over the API the conversation's agent is read in the same round trip as the history, so the cap comes with
    # the conversation's row (the agent's Max Messages is 4 here; a new agent's default is 20).
    for number in range(4):
        body = {"conversationID": conversation.public_id, "text": f"Question {number}"}
        assert ask(asgi_server, user_token, body, accept="application/json").status_code == 200

    sent = fake_llm.last.json["messages"]
    assert [message["role"] for message in sent] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert sent[1]["content"] == "Question 1" and sent[-1]["content"] == "Question 3"
