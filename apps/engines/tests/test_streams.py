"""Behaviour every engine shares, run against each of the six fake servers: the answer, usage, errors,
cut and garbled streams, timeouts and cancellation."""

import asyncio
import contextlib
import logging
import time
from contextlib import aclosing

from apps.engines.base import EngineError, TextDelta
from apps.engines.fakes import Script
from apps.engines.service import stream_answer
from apps.engines.tests.helpers import HISTORY, collect, error_of
from apps.engines.transport import close_client

TEXT = "Controls reduce the likelihood or the impact of a risk."


def test_engine_streams_the_answer_in_deltas_then_finishes_with_the_provider_usage(fake):
    fake.script = Script(text=TEXT, deltas=5, input_tokens=33, cached_tokens=4)

    deltas, finish = collect(fake.config())

    assert "".join(deltas) == TEXT
    assert len(deltas) == 5
    assert finish.reason == "stop"
    assert finish.usage.input_tokens == 33
    assert finish.usage.output_tokens == 5
    assert finish.usage.cached_tokens == (0 if fake.wire == "mistral" else 4)  # Mistral reports no cache use
    assert finish.usage.estimated is False


def test_engine_keeps_unicode_text_intact_across_deltas(fake):
    fake.script = Script(text="Risque élevé: 危险 ✓ — ok", deltas=7)

    deltas, _finish = collect(fake.config())

    assert "".join(deltas) == "Risque élevé: 危险 ✓ — ok"


def test_engine_reports_a_length_finish_when_the_answer_hit_max_tokens(fake):
    provider_reason = {"google": "MAX_TOKENS", "bedrock": "max_tokens"}.get(fake.wire, "length")
    fake.script = Script(text=TEXT, finish_reason=provider_reason)

    _deltas, finish = collect(fake.config(max_tokens=5))

    assert finish.reason == "length"
    assert finish.provider_reason == provider_reason


def test_engine_reports_a_content_filter_finish_when_the_answer_was_filtered(fake):
    provider_reason = {"google": "SAFETY", "bedrock": "guardrail_intervened"}.get(fake.wire, "content_filter")
    fake.script = Script(text="Partial", finish_reason=provider_reason)

    _deltas, finish = collect(fake.config())

    assert finish.reason == "content_filter"


def test_wrong_key_is_an_auth_error_with_the_provider_message(fake):
    config = fake.config(api_key="sk-wrong-key-000", secret_access_key="wrong/secret")

    error = error_of(config)

    assert error.kind == "auth"
    assert error.status in (400, 401, 403)
    assert error.message


def test_unknown_model_or_deployment_is_not_found(fake):
    fake.script = Script(status=404)

    error = error_of(fake.config())

    assert error.kind == "not_found"
    assert error.status == 404


def test_rate_limit_is_rate_limited_with_the_retry_after(fake):
    fake.script = Script(status=429, retry_after="7")

    error = error_of(fake.config())

    assert error.kind == "rate_limited"
    assert error.status == 429
    assert error.retry_after == 7.0


def test_server_error_is_a_provider_error_with_the_status(fake):
    fake.script = Script(status=500)

    error = error_of(fake.config())

    assert error.kind == "provider_error"
    assert error.status == 500


async def _deltas_then_error(config) -> tuple[list[str], EngineError]:
    texts = []
    try:
        async with aclosing(stream_answer(config, instructions="", history=(), prompt="Hi")) as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    texts.append(event.text)
    except EngineError as error:
        return texts, error
    finally:
        await close_client()
    raise AssertionError("the stream ended without an error")


def test_error_mid_stream_raises_after_the_deltas_already_sent(fake):
    fake.script = Script(text="one two three four", error_after=2)

    texts, error = asyncio.run(_deltas_then_error(fake.config()))

    assert texts == ["one ", "two "]
    assert error.kind == "provider_error"
    assert error.status is None


def test_rate_limit_error_mid_stream_is_rate_limited(fake):
    code = {"google": "RESOURCE_EXHAUSTED", "bedrock": "throttlingException"}.get(fake.wire, "rate_limit_exceeded")
    fake.script = Script(text="one two three", error_after=1, error_code=code, error_message="Slow down")

    _texts, error = asyncio.run(_deltas_then_error(fake.config()))

    assert error.kind == "rate_limited"
    assert error.message == "Slow down"


def test_stream_cut_before_usage_finishes_with_estimated_usage(fake):
    fake.script = Script(text="alpha beta gamma delta epsilon", cut_after=3)

    deltas, finish = collect(fake.config(), instructions="", history=(), prompt="Name five letters")

    assert deltas == ["alpha ", "beta ", "gamma "]
    assert finish.reason == "other"
    assert finish.usage.estimated is True
    assert finish.usage.input_tokens >= 3
    assert finish.usage.output_tokens >= 3


def test_stream_cut_before_any_answer_is_a_provider_error(fake):
    fake.script = Script(text="never sent", cut_after=0)

    error = error_of(fake.config())

    assert error.kind == "provider_error"
    assert "before answering" in error.message


def test_garbage_instead_of_a_stream_is_a_provider_error(fake):
    fake.script = Script(garbage="\x00\xff\x13garbage <html><body>Bad gateway</body></html>\r\n\r\n")

    error = error_of(fake.config())

    assert error.kind == "provider_error"


def test_truncated_last_frame_is_a_provider_error(fake):
    fake.script = Script(text="one two three four", truncate_after=2)

    _texts, error = asyncio.run(_deltas_then_error(fake.config()))

    assert error.kind == "provider_error"
    assert "middle of" in error.message


def test_slow_first_token_within_the_read_timeout_is_fine(fake):
    fake.script = Script(text="late but fine", first_delay=0.4)
    started = time.monotonic()

    deltas, finish = collect(fake.config(read_timeout=3.0))

    assert "".join(deltas) == "late but fine"
    assert finish.reason == "stop"
    assert time.monotonic() - started >= 0.4


def test_read_timeout_fires_when_the_provider_goes_silent(fake):
    fake.script = Script(text="too late", first_delay=3.0)
    started = time.monotonic()

    error = error_of(fake.config(read_timeout=0.3))

    assert error.kind == "timeout"
    assert time.monotonic() - started < 2.0
    assert fake.wait_disconnected(2.0)


def test_an_answer_longer_than_the_read_timeout_is_fine_while_each_delta_comes_within_it(fake):
    # The read deadline is one timer per connection, re-armed when it fires: it must measure the wait of the read
    # in progress, not the time since the timer was armed.
    fake.script = Script(text="one two three four five six seven", delay=0.12)
    started = time.monotonic()

    deltas, finish = collect(fake.config(read_timeout=0.3))

    assert "".join(deltas) == "one two three four five six seven"
    assert finish.reason == "stop"
    assert time.monotonic() - started >= 0.6


def test_read_timeout_fires_when_the_provider_goes_silent_mid_answer(fake):
    fake.script = Script(text="one two three four", delay=0.05, pause_after=2, pause=3.0)
    started = time.monotonic()

    texts, error = asyncio.run(_deltas_then_error(fake.config(read_timeout=0.3)))

    assert texts == ["one ", "two "]
    assert error.kind == "timeout"
    assert time.monotonic() - started < 2.0
    assert fake.wait_disconnected(2.0)


def test_closing_the_stream_closes_the_upstream_connection(fake):
    fake.script = Script(text=" ".join(["word"] * 100), delay=0.02)

    async def scenario() -> tuple[str, bool]:
        stream = stream_answer(fake.config(), instructions="", history=(), prompt="Talk")
        first = await anext(stream)
        await stream.aclose()
        seen = await asyncio.to_thread(fake.last.disconnected.wait, 3.0)
        return first.text, seen

    first, disconnected = asyncio.run(scenario())

    assert first == "word "
    assert disconnected is True


def test_cancelling_the_consuming_task_closes_the_upstream_connection(fake):
    fake.script = Script(text=" ".join(["word"] * 100), delay=0.02)
    received = []

    async def consume() -> None:
        async with aclosing(stream_answer(fake.config(), instructions="", history=(), prompt="Talk")) as stream:
            async for event in stream:
                received.append(event)

    async def scenario() -> bool:
        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return await asyncio.to_thread(fake.last.disconnected.wait, 3.0)

    assert asyncio.run(scenario()) is True
    assert len(received) < 100


def test_provider_message_never_carries_the_key_even_when_the_provider_echoes_it(fake, caplog):
    key = "sk-secret-echoed-key-987654321"
    fake.api_key = key
    fake.script = Script(status=401, error_message="Key {key} is not valid")
    config = fake.config(api_key=key) if fake.wire != "bedrock" else fake.config(api_key=key, access_key_id="")
    caplog.set_level(logging.DEBUG)

    error = error_of(config)

    assert key not in error.message
    assert key not in str(error)
    assert key not in repr(error)
    assert key not in repr(config)
    assert "****" in error.message
    assert key not in caplog.text


def test_history_window_and_instructions_reach_the_provider(fake):
    collect(fake.config(), instructions="Answer briefly.", history=HISTORY, prompt="And a control?")

    body = fake.last.body.decode()
    for text in ("Answer briefly.", "What is a risk register?", "A list of risks.", "And a control?"):
        assert text in body


def test_no_server_listening_is_a_provider_error(fake):
    config = fake.config(connect_timeout=1.0)
    fake.stop()

    error = error_of(config)

    assert error.kind == "provider_error"
    assert "could not connect" in error.message


def test_frames_split_across_http_chunks_and_reads_give_the_same_answer(fake):
    """Providers send a frame per HTTP chunk; a proxy may re-chunk. Chunks of 1, 7 and 100 bytes (frames split
    anywhere, several frames in one chunk), sent back to back or one per read."""
    fake.script = Script(text=TEXT, deltas=6, input_tokens=33)
    expected_deltas, expected_finish = collect(fake.config())
    for rechunk, delay in ((1, 0.0), (7, 0.0), (7, 0.002), (100, 0.0), (100, 0.002)):
        fake.script = Script(text=TEXT, deltas=6, input_tokens=33, rechunk=rechunk, delay=delay)

        deltas, finish = collect(fake.config())

        assert deltas == expected_deltas, (rechunk, delay)
        assert finish == expected_finish


def test_a_truncated_frame_in_a_rechunked_body_is_still_a_provider_error(fake):
    fake.script = Script(text="one two three four", truncate_after=2, rechunk=5)

    texts, error = asyncio.run(_deltas_then_error(fake.config()))

    assert texts == ["one ", "two "]
    assert error.kind == "provider_error"
    assert "middle of" in error.message
