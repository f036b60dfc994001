"""The prompt's rows (the user message, the in-progress AI message) are written while the engine is asked, not
before: the first token waits for no write, and rows that cannot be written stop the engine and fail the answer.

The database itself is made slow or refusing with a trigger on chat_message (PostgreSQL: pg_sleep and RAISE;
SQLite: a function registered on each connection, and RAISE), not by patching the code under test."""

import asyncio
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from apps.chat.models import Message, MessageStatus, MessageType, UsageRecord, new_public_id
from apps.chat.pipeline import Delta, Failed, Finished, Started, answer_cancel, answer_start
from apps.chat.tests.test_pipeline import prompt

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_SECONDS = 0.6  # airisk_test_sleep: registered on every SQLite connection of the tests (conftest.py)


@pytest.fixture
def message_trigger():
    """Install a BEFORE INSERT trigger on chat_message running ``action`` ("sleep" or "reject") for prompts whose
    text starts with "trigger:"; removed afterwards."""
    installed = []

    def install(action: str) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                body = (
                    f"PERFORM pg_sleep({SLOW_SECONDS});"
                    if action == "sleep"
                    else "RAISE EXCEPTION 'rows refused by the test trigger';"
                )
                cursor.execute(
                    "CREATE FUNCTION airisk_test_trigger() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.text LIKE 'trigger:%' THEN {body} END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
                cursor.execute(
                    "CREATE TRIGGER airisk_test_trigger BEFORE INSERT ON chat_message "
                    "FOR EACH ROW EXECUTE FUNCTION airisk_test_trigger()"
                )
            else:
                body = (
                    f"SELECT airisk_test_sleep({SLOW_SECONDS});"
                    if action == "sleep"
                    else "SELECT RAISE(ABORT, 'rows refused by the test trigger');"
                )
                cursor.execute(
                    "CREATE TRIGGER airisk_test_trigger BEFORE INSERT ON chat_message "
                    f"WHEN NEW.text LIKE 'trigger:%' BEGIN {body} END"
                )
        installed.append(action)

    yield install
    if installed:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER airisk_test_trigger ON chat_message")
                cursor.execute("DROP FUNCTION airisk_test_trigger()")
            else:
                cursor.execute("DROP TRIGGER airisk_test_trigger")


def test_the_first_token_does_not_wait_for_the_prompts_rows(conversation, fake_llm, message_trigger):
    message_trigger("sleep")  # the user message's row takes SLOW_SECONDS to insert

    async def main():
        started = time.perf_counter()
        handle = answer_start(prompt(conversation, "trigger: how many days of leave?"))
        events, first_delta_at = [], None
        async for event in handle.events():
            events.append(event)
            if isinstance(event, Delta) and first_delta_at is None:
                first_delta_at = time.perf_counter() - started
        await handle.wait()
        return handle, events, first_delta_at, time.perf_counter() - started

    handle, events, first_delta_at, stored_at = asyncio.run(main())

    assert isinstance(events[0], Started)
    # The user message took SLOW_SECONDS to insert, and the answer could only be stored after it; its first delta
    # came long before.
    assert stored_at >= SLOW_SECONDS
    assert first_delta_at < SLOW_SECONDS / 2
    assert isinstance(events[-1], Finished) and events[-1].status == "completed"
    # Then everything was stored as usual: the prompt, the answer, its usage.
    answer = Message.objects.get(public_id=handle.message_id)
    assert answer.text == "The policy allows twenty days of leave." and answer.status == "completed"
    assert Message.objects.get(public_id=handle.user_message_id).text == "trigger: how many days of leave?"
    assert UsageRecord.objects.get(message=answer).output_tokens > 0


def test_rows_that_cannot_be_written_stop_the_engine_and_fail_the_answer(conversation, fake_llm, message_trigger):
    message_trigger("reject")
    fake_llm.script.delay = 0.2  # the whole answer would take well over a second

    async def main():
        started = time.perf_counter()
        handle = answer_start(prompt(conversation, "trigger: how many days of leave?"))
        events = [event async for event in handle.events()]
        await handle.wait()
        return events, time.perf_counter() - started

    events, elapsed = asyncio.run(main())

    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Failed) and events[-1].message == "The answer could not be stored."
    assert fake_llm.wait_disconnected()  # the provider was told to stop generating
    assert elapsed < 1.0
    assert not Message.objects.filter(conversation=conversation).exists()


def test_a_stop_from_another_user_or_company_does_not_reach_a_running_answer(
    conversation, fake_llm, admin_user, other_user
):
    """The in-process Stop (no query) checks the answer's owner as the database lookup does."""
    # Slow enough that both refused Stops (each looks twice, CANCEL_ROW_WAIT_SECONDS apart) end mid-answer, while
    # nothing is written (the in-memory SQLite of the tests locks whole tables while a row is written).
    fake_llm.script.delay = 0.2

    async def main():
        handle = answer_start(prompt(conversation, "How many days of leave?"))
        refused, deltas = [], 0
        async for event in handle.events():
            deltas += isinstance(event, Delta)
            if deltas == 3 and not refused:  # the prompt's rows are written by now
                for person in (admin_user, other_user):
                    refused.append(
                        await answer_cancel(company=person.company, user=person, message_id=handle.message_id)
                    )
        await handle.wait()
        return handle, refused, event

    handle, refused, last = asyncio.run(main())

    assert refused == [False, False]
    assert isinstance(last, Finished) and last.status == "completed"
    assert Message.objects.get(public_id=handle.message_id).text == "The policy allows twenty days of leave."


def test_a_stop_sent_just_before_the_answers_rows_are_written_still_stops_it(conversation):
    """As from another process: the answer is not running here and its rows appear a moment after the Stop."""
    message_id = new_public_id()

    def write_rows_late():
        time.sleep(0.05)
        Message.objects.create(
            company=conversation.company,
            conversation=conversation,
            public_id=message_id,
            message_type=MessageType.AI,
            status=MessageStatus.IN_PROGRESS,
        )
        connection.close()

    writer = threading.Thread(target=write_rows_late)
    writer.start()
    stopped = asyncio.run(answer_cancel(company=conversation.company, user=conversation.user, message_id=message_id))
    writer.join()

    assert stopped is True
    assert cache.get(f"chat:cancel:{message_id}") == 1  # what the answer's own process reads
    # A message that never appears is still refused.
    assert not asyncio.run(
        answer_cancel(company=conversation.company, user=conversation.user, message_id=new_public_id())
    )
