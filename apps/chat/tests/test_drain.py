"""The shutdown drain (answers_drain) against the slow fake engine on loopback: answers whose clients left are
finished within the grace, or stopped and stored as incomplete "server_shutdown" with their usage; never lost."""

import asyncio
import time

import pytest

from apps.chat.models import Conversation, ExchangeOutcome, Message, MessageStatus, UsageRecord
from apps.chat.pipeline import _RUNNING, Delta, PromptInput, Started, answer_start, answers_drain
from apps.chat.tests.test_pipeline import prompt

pytestmark = pytest.mark.django_db(transaction=True)

FULL = "The policy allows twenty days of leave."


def abandon_then_drain(inp, *, deltas_read, grace):
    """Start an answer, read ``deltas_read`` deltas (0: up to Started only), leave as a client would, then run the
    drain with ``grace`` seconds. Returns the handle, the drain's counts and how long the drain took."""

    async def main():
        handle = answer_start(inp)
        seen = 0
        async for event in handle.events():
            seen += isinstance(event, Delta)
            if (deltas_read == 0 and isinstance(event, Started)) or (deltas_read and seen == deltas_read):
                break  # the client went away; the answer runs on, detached
        started = time.monotonic()
        counts = await answers_drain(grace)
        took = time.monotonic() - started
        assert handle.task.done() and handle.task not in _RUNNING
        return handle, counts, took

    return asyncio.run(main())


def test_short_grace_stops_the_abandoned_answer_and_stores_it_incomplete_with_its_usage(conversation, fake_llm):
    fake_llm.script.delay = 0.3  # seven deltas: about two seconds in all

    handle, counts, took = abandon_then_drain(prompt(conversation), deltas_read=2, grace=0.2)

    assert counts == {"finished": 0, "stopped": 1, "left": 0}
    assert took < 2.0
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.status == MessageStatus.INCOMPLETE
    assert answer.incomplete_reason == "server_shutdown" and answer.finish_reason == "server_shutdown"
    # What was generated until the stop is stored (the client read "The policy "), not the whole answer.
    assert answer.text.startswith("The policy ") and answer.text != FULL
    assert answer.usage_estimated and answer.input_tokens > 0 and answer.output_tokens > 0 and answer.cost > 0
    record = UsageRecord.objects.get(message=answer)
    assert record.outcome == ExchangeOutcome.INCOMPLETE and record.estimated and record.cost == answer.cost
    conversation.refresh_from_db()
    assert conversation.total_cost == answer.cost
    assert conversation.total_tokens == answer.input_tokens + answer.output_tokens
    assert fake_llm.wait_disconnected()  # the provider stops generating


def test_long_enough_grace_lets_the_abandoned_answer_complete_normally(conversation, fake_llm):
    fake_llm.script.delay = 0.05

    handle, counts, _ = abandon_then_drain(prompt(conversation), deltas_read=1, grace=10)

    assert counts == {"finished": 1, "stopped": 0, "left": 0}
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.status == MessageStatus.COMPLETED and answer.incomplete_reason == ""
    assert answer.text == FULL and not answer.usage_estimated
    assert UsageRecord.objects.get(message=answer).outcome == ExchangeOutcome.COMPLETED


def test_a_slow_first_token_does_not_hold_the_shutdown(conversation, fake_llm):
    """The answer waits for the engine's first token (a model thinking): the drain interrupts the wait itself."""
    fake_llm.script.first_delay = 30

    handle, counts, took = abandon_then_drain(prompt(conversation), deltas_read=0, grace=0.2)

    assert counts == {"finished": 0, "stopped": 1, "left": 0}
    assert took < 3.0
    answer = Message.objects.get(public_id=handle.message_id)
    assert (answer.status, answer.incomplete_reason, answer.text) == (MessageStatus.INCOMPLETE, "server_shutdown", "")
    # The prompt reached the engine: its input is billed, estimated.
    assert answer.usage_estimated and answer.input_tokens > 0 and answer.output_tokens == 0
    assert UsageRecord.objects.get(message=answer).outcome == ExchangeOutcome.INCOMPLETE
    assert fake_llm.wait_disconnected()


def test_an_answer_stopped_before_the_engine_was_asked_costs_nothing(conversation, fake_llm):
    async def main():
        handle = answer_start(prompt(conversation))
        # No grace: the answer is still being prepared (a worker thread) when it is told to stop.
        counts = await answers_drain(0)
        return handle, counts

    handle, counts = asyncio.run(main())

    assert counts == {"finished": 0, "stopped": 1, "left": 0}
    assert fake_llm.requests == []
    answer = Message.objects.get(public_id=handle.message_id)
    assert (answer.status, answer.incomplete_reason, answer.cost) == (MessageStatus.INCOMPLETE, "server_shutdown", 0)
    assert UsageRecord.objects.get(message=answer).input_tokens == 0
    assert Message.objects.get(public_id=handle.user_message_id).text == "How many days of leave?"


def test_a_one_off_exchange_is_stopped_with_its_usage_record(company, plain_user, agent, fake_llm):
    fake_llm.script.delay = 0.3
    inp = PromptInput(company=company, user=plain_user, agent=agent, conversation=None, text="Hello")

    _, counts, _ = abandon_then_drain(inp, deltas_read=1, grace=0.1)

    assert counts["stopped"] == 1
    record = UsageRecord.objects.get()
    assert record.outcome == ExchangeOutcome.INCOMPLETE and record.conversation is None
    assert record.estimated and record.output_tokens > 0


def test_the_drain_without_answers_returns_at_once():
    started = time.monotonic()
    assert asyncio.run(answers_drain(20)) == {"finished": 0, "stopped": 0, "left": 0}
    assert time.monotonic() - started < 1
    assert not Conversation.objects.exists()
