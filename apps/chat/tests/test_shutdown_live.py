"""A live uvicorn server with the lifespan protocol on, stopped as on SIGTERM while answers run: every answer is
stored (finished within the grace, or incomplete "server_shutdown"), with its usage record."""

import json
import time

import pytest
import requests
from django.test import override_settings

from apps.chat.models import ExchangeOutcome, Message, MessageStatus, UsageRecord
from apps.chat.tests.test_stream_live import ask, sse_events
from tests.asgi_server import LiveAsgiServer

pytestmark = pytest.mark.django_db(transaction=True)


def first_delta(response) -> str:
    for name, data in sse_events(response):
        if name == "thread.message.delta":
            return json.loads(data)["id"]
    raise AssertionError("no delta")


def stopped(server) -> float:
    started = time.monotonic()
    server.stop(timeout=20)
    assert not server.thread.is_alive()
    return time.monotonic() - started


@override_settings(CHAT_SHUTDOWN_GRACE_SECONDS=0.3)
def test_shutdown_stores_an_abandoned_answer_as_incomplete_with_its_usage(user_token, conversation, fake_llm):
    fake_llm.script.deltas, fake_llm.script.delay = 10, 0.5  # five seconds of answer
    server = LiveAsgiServer(lifespan="on").__enter__()
    try:
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200  # http still served
        response = ask(server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})
        message_id = first_delta(response)
        response.close()  # the client leaves: uvicorn no longer waits for anything of this answer
    finally:
        took = stopped(server)

    assert took < 4
    answer = Message.objects.get(public_id=message_id)
    assert (answer.status, answer.incomplete_reason) == (MessageStatus.INCOMPLETE, "server_shutdown")
    assert answer.text and answer.text != "The policy allows twenty days of leave."
    assert answer.usage_estimated and answer.output_tokens > 0
    assert UsageRecord.objects.get(message=answer).outcome == ExchangeOutcome.INCOMPLETE


@override_settings(CHAT_SHUTDOWN_GRACE_SECONDS=10)
def test_shutdown_lets_an_abandoned_answer_finish_within_the_grace(user_token, conversation, fake_llm):
    fake_llm.script.deltas, fake_llm.script.delay = 6, 0.2
    server = LiveAsgiServer(lifespan="on").__enter__()
    try:
        response = ask(server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})
        message_id = first_delta(response)
        response.close()
    finally:
        took = stopped(server)

    assert took < 8
    answer = Message.objects.get(public_id=message_id)
    assert answer.status == MessageStatus.COMPLETED and answer.text == "The policy allows twenty days of leave."
    assert UsageRecord.objects.get(message=answer).outcome == ExchangeOutcome.COMPLETED


@override_settings(CHAT_SHUTDOWN_GRACE_SECONDS=0.3)
def test_a_stream_still_open_at_shutdown_loses_its_connection_not_its_answer(user_token, conversation, fake_llm):
    fake_llm.script.deltas, fake_llm.script.delay = 20, 0.5  # ten seconds: longer than the connections' grace (2 s)
    server = LiveAsgiServer(lifespan="on").__enter__()
    try:
        response = ask(server, user_token, {"conversationID": conversation.public_id, "text": "Leave?"})
        message_id = first_delta(response)
    finally:
        took = stopped(server)
    response.close()

    assert took < 6
    answer = Message.objects.get(public_id=message_id)
    assert (answer.status, answer.incomplete_reason) == (MessageStatus.INCOMPLETE, "server_shutdown")
    assert UsageRecord.objects.filter(message=answer).count() == 1
