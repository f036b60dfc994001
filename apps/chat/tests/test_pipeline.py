"""The prompt pipeline against the fake OpenAI server: what is sent, what is streamed, what is stored and billed."""

import asyncio
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from apps.agents.models import AgentUserGrant
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.chat.models import Conversation, ConversationFile, Message, MessageStatus, MessageType, UsageRecord
from apps.chat.pipeline import Delta, Failed, Finished, PromptInput, Started, answer_cancel, answer_start
from apps.documents.services import document_create

pytestmark = pytest.mark.django_db(transaction=True)


def prompt(conversation, text="How many days of leave?", **extra):
    return PromptInput(
        company=conversation.company,
        user=conversation.user,
        agent=conversation.agent,
        conversation=conversation,
        text=text,
        **extra,
    )


def collect(inp, *, stop_after=None, cancel_after=None):
    """Run one answer in a fresh loop; return the events seen and wait until the answer is stored."""

    async def main():
        handle = answer_start(inp)
        seen = []
        async for event in handle.events():
            seen.append(event)
            deltas = sum(isinstance(e, Delta) for e in seen)
            if cancel_after is not None and deltas == cancel_after:
                assert await answer_cancel(company=inp.company, user=inp.user, message_id=handle.message_id)
            if stop_after is not None and deltas == stop_after:
                break  # the client went away
        await handle.wait()
        return handle, seen

    return asyncio.run(main())


def test_answer_streams_then_is_stored_with_usage_cost_and_latencies(conversation, fake_llm):
    handle, events = collect(prompt(conversation))

    assert isinstance(events[0], Started) and events[0].message_id == handle.message_id
    assert "".join(e.text for e in events if isinstance(e, Delta)) == "The policy allows twenty days of leave."
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.status == "completed"
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.message_type == MessageType.AI and answer.status == MessageStatus.COMPLETED
    assert answer.text == "The policy allows twenty days of leave."
    assert (answer.input_tokens, answer.usage_estimated, answer.finish_reason) == (21, False, "stop")
    # 21 input tokens at 2.50 and 7 output tokens (one per delta) at 10.00 per million.
    assert answer.cost == Decimal("0.0000525") + Decimal("0.00007")
    assert answer.input_price_per_million == Decimal("2.5")
    assert answer.first_token_ms is not None and answer.total_ms >= answer.first_token_ms
    conversation.refresh_from_db()
    assert conversation.total_cost == answer.cost and conversation.total_tokens == 28
    assert UsageRecord.objects.get(message=answer).cost == answer.cost
    user_message = Message.objects.get(public_id=handle.user_message_id)
    assert user_message.text == "How many days of leave?"
    sent = fake_llm.last.json["messages"]
    assert sent[0] == {"role": "system", "content": "You are a careful assistant."}
    assert sent[-1] == {"role": "user", "content": "How many days of leave?"}


def test_client_that_leaves_mid_answer_still_gets_it_stored_and_billed(conversation, fake_llm):
    fake_llm.script.delay = 0.02
    handle, events = collect(prompt(conversation), stop_after=2)

    assert not any(isinstance(e, Finished) for e in events)
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.status == MessageStatus.COMPLETED
    assert answer.text == "The policy allows twenty days of leave."
    assert answer.cost > 0 and UsageRecord.objects.filter(message=answer).count() == 1


def test_cancel_stores_the_answer_as_incomplete_with_estimated_usage(conversation, fake_llm):
    fake_llm.script.delay = 0.05
    handle, events = collect(prompt(conversation), cancel_after=2)

    finished = events[-1]
    assert isinstance(finished, Finished) and finished.status == "incomplete"
    assert finished.incomplete_reason == "cancelled"
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.status == MessageStatus.INCOMPLETE and answer.incomplete_reason == "cancelled"
    assert answer.text.startswith("The policy") and answer.text != "The policy allows twenty days of leave."
    assert answer.usage_estimated and answer.output_tokens > 0
    assert fake_llm.wait_disconnected()


@override_settings(CHAT_CANCEL_POLL_SECONDS=0)
def test_cancel_reaches_the_answer_through_the_cache_flag(conversation, fake_llm):
    fake_llm.script.delay = 0.05

    async def main():
        handle = answer_start(prompt(conversation))
        seen = []
        async for event in handle.events():
            seen.append(event)
            if isinstance(event, Delta):
                # As another process would: only the cache flag, no in-process event.
                await cache.aset(f"chat:cancel:{handle.message_id}", 1)
        return handle, seen

    handle, events = asyncio.run(main())
    assert events[-1].status == "incomplete"
    assert Message.objects.get(public_id=handle.message_id).incomplete_reason == "cancelled"


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limit_exceeded"), (401, "server_error")])
def test_engine_error_becomes_a_stored_audited_failure(conversation, fake_llm, status, code):
    fake_llm.script.status = status
    fake_llm.script.retry_after = "7"
    handle, events = collect(prompt(conversation))

    failed = events[-1]
    assert isinstance(failed, Failed) and failed.code == code and failed.status is None
    assert f"HTTP {status}" in failed.message
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.status == MessageStatus.FAILED and answer.error_kind in ("rate_limited", "auth")
    assert answer.cost == 0
    event = AuditEvent.objects.get(action="chat.answer_failed")
    assert event.detail["status"] == status and event.company == conversation.company


def test_history_is_capped_at_max_messages_and_instructions_always_go(conversation, fake_llm):
    for number in range(4):
        collect(prompt(conversation, text=f"Question {number}"))
    collect(prompt(conversation, text="Last question"))

    sent = fake_llm.last.json["messages"]
    assert sent[0]["role"] == "system"
    # Max Messages is 4: two earlier exchanges, then the new prompt.
    assert sent[1]["content"] == "Question 2"
    assert len(sent) == 1 + 4 + 1


def test_conversation_files_become_context_and_citations(conversation, fake_llm):
    document = document_create(
        company=conversation.company,
        actor=Actor.system(),
        name="handbook.txt",
        content=b"Parental leave lasts sixteen weeks at full pay.\n",
    )
    ConversationFile.objects.create(company=conversation.company, conversation=conversation, document=document)

    _handle, events = collect(prompt(conversation, text="How long is parental leave?"))

    assert "sixteen weeks" in fake_llm.last.json["messages"][0]["content"]
    assert events[-1].citations[0]["fileName"] == "handbook.txt"


def test_revoked_agent_is_refused_before_anything_is_stored(conversation, plain_user):
    AgentUserGrant.objects.filter(user=plain_user).delete()
    _handle, events = collect(prompt(conversation))

    assert isinstance(events[0], Failed) and events[0].status == 403
    assert not Message.objects.filter(conversation=conversation).exists()


def test_another_users_conversation_is_not_found(conversation, admin_user):
    inp = PromptInput(
        company=conversation.company, user=admin_user, agent=conversation.agent, conversation=conversation, text="hi"
    )
    _handle, events = collect(inp)
    assert events[0].status == 404


@override_settings(CHAT_MAX_PROMPT_CHARS=10)
def test_too_long_prompt_is_refused(conversation):
    _handle, events = collect(prompt(conversation, text="x" * 11))
    assert (events[0].code, events[0].status) == ("invalid_prompt", 400)


@override_settings(CHAT_RATE_PER_USER="2/min")
def test_prompts_per_user_are_rate_limited(conversation):
    collect(prompt(conversation))
    collect(prompt(conversation))
    _handle, events = collect(prompt(conversation))
    assert events[0].status == 429 and events[0].retry_after >= 1


def test_one_off_exchange_keeps_no_conversation_but_a_usage_record(company, plain_user, agent, fake_llm):
    inp = PromptInput(company=company, user=plain_user, agent=agent, conversation=None, text="Hello")
    _handle, events = collect(inp)

    assert isinstance(events[-1], Finished)
    assert not Conversation.objects.exists() and not Message.objects.exists()
    record = UsageRecord.objects.get()
    assert record.conversation is None and record.cost > 0


def test_missing_provider_usage_is_estimated_and_marked(conversation, fake_llm):
    fake_llm.script.send_usage = False
    handle, _events = collect(prompt(conversation))
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.usage_estimated and answer.input_tokens > 0


def test_the_stream_pings_only_after_waiting_the_ping_interval_without_an_event():
    """One keep-alive timer per answer (not one per delta): deltas arriving faster than the interval bring no ping;
    a pause of more than two intervals brings pings; the timer ends with the answer."""
    from apps.chat.pipeline import AnswerHandle

    async def scenario():
        handle = AnswerHandle("m-1", None)

        async def produce():
            for index in range(20):
                await asyncio.sleep(0.005)
                handle.put(Delta(str(index)))
            await asyncio.sleep(0.5)
            handle.put(Failed("m-1", "server_error", "The end."))

        producer = asyncio.ensure_future(produce())
        received = []
        while not isinstance(event := await handle.next_event(0.2), Failed):
            received.append(event)
        await producer
        return handle, received

    handle, received = asyncio.run(scenario())

    deltas, pings = received[:20], received[20:]
    assert [delta.text for delta in deltas] == [str(index) for index in range(20)]
    assert pings and set(pings) == {None} and len(pings) <= 3
    assert handle._ping_timer is None


def test_the_ping_timer_stops_once_the_answer_task_is_over():
    from apps.chat.pipeline import AnswerHandle

    async def scenario():
        handle = AnswerHandle("m-2", None)
        handle.task = asyncio.ensure_future(asyncio.sleep(0.05))
        first = await handle.next_event(0.02)  # a ping: the task still runs
        await handle.task
        try:
            async with asyncio.timeout(0.2):
                await handle.next_event(0.02)
        except TimeoutError:
            pass
        return first, handle

    first, handle = asyncio.run(scenario())

    assert first is None
    assert handle._ping_timer is None
