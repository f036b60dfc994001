"""Bedrock Converse stream: SigV4 (checked by the fake with botocore) or API key, and the binary event stream."""

import json
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from apps.engines.base import ChatTurn
from apps.engines.eventstream import EventStreamDecoder, EventStreamError, encode_message
from apps.engines.fakes import FAKE_ACCESS_KEY_ID, FAKE_API_KEY, Script
from apps.engines.tests.helpers import collect, error_of

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def test_bedrock_request_is_sigv4_signed_for_the_region_and_the_fake_verifies_it(make_fake):
    fake = make_fake("bedrock")

    deltas, _finish = collect(fake.config(max_tokens=200, temperature=0.3))

    request = fake.last
    assert deltas
    assert request.path == "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={FAKE_ACCESS_KEY_ID}/{request.headers['x-amz-date'][:8]}/us-east-1/bedrock/"
    )
    assert request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert request.json == {
        "messages": [
            {"role": "user", "content": [{"text": "What is a risk register?"}]},
            {"role": "assistant", "content": [{"text": "A list of risks."}]},
            {"role": "user", "content": [{"text": "And a control?"}]},
        ],
        "system": [{"text": "Answer briefly."}],
        "inferenceConfig": {"temperature": 0.3, "maxTokens": 200},
    }


def test_bedrock_session_token_is_sent_and_signed(make_fake):
    fake = make_fake("bedrock")

    deltas, _finish = collect(fake.config(session_token="FwoGZXIvYXdzEFAKE"))

    assert deltas
    assert fake.last.headers["x-amz-security-token"] == "FwoGZXIvYXdzEFAKE"
    assert "x-amz-security-token" in fake.last.headers["authorization"]


def test_bedrock_wrong_secret_fails_the_signature_check_as_auth(make_fake):
    fake = make_fake("bedrock")

    error = error_of(fake.config(secret_access_key="not-the-secret"))

    assert error.kind == "auth"
    assert error.status == 403
    assert "signature we calculated does not match" in error.message
    assert "not-the-secret" not in error.message


def test_bedrock_api_key_is_sent_as_bearer_without_signing(make_fake):
    fake = make_fake("bedrock")

    deltas, _finish = collect(fake.config(api_key=FAKE_API_KEY, access_key_id="", secret_access_key=""))

    assert deltas
    assert fake.last.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    assert "x-amz-date" not in fake.last.headers


def test_bedrock_history_starts_with_user_and_alternates(make_fake):
    fake = make_fake("bedrock")
    history = (ChatTurn("assistant", "Hello, how can I help?"), ChatTurn("user", "First"), ChatTurn("user", "Second"))

    collect(fake.config(), instructions="", history=history, prompt="Third")

    assert fake.last.json["messages"] == [{"role": "user", "content": [{"text": "First\n\nSecond\n\nThird"}]}]
    assert "system" not in fake.last.json


def test_bedrock_usage_comes_from_the_metadata_event(make_fake):
    fake = make_fake("bedrock", script=Script(text="one two", input_tokens=30, cached_tokens=12))

    _deltas, finish = collect(fake.config())

    assert finish.provider_reason == "end_turn"
    assert (finish.usage.input_tokens, finish.usage.output_tokens, finish.usage.cached_tokens) == (30, 2, 12)


def test_bedrock_bad_crc_is_a_provider_error(make_fake):
    fake = make_fake("bedrock", script=Script(text="one two three four", bad_crc_after=2))

    error = error_of(fake.config())

    assert error.kind == "provider_error"
    assert "CRC" in error.message


def test_bedrock_unknown_model_validation_exception_is_not_found(make_fake):
    fake = make_fake("bedrock", script=Script(status=400))

    error = error_of(fake.config(model="anthropic.no-such-model"))

    assert error.kind == "not_found"
    assert error.message == "The provided model identifier is invalid."


def test_bedrock_stream_exception_type_decides_the_kind(make_fake):
    fake = make_fake("bedrock", script=Script(text="a b c", error_after=1, error_code="validationException"))

    error = error_of(fake.config())

    assert error.kind == "provider_error"


def test_our_encoder_is_read_by_botocore_and_botocore_checks_our_crc():
    message = encode_message({":event-type": "contentBlockDelta", ":message-type": "event"}, b'{"delta":{"text":"hi"}}')
    buffer = EventStreamBuffer()
    buffer.add_data(message)

    decoded = next(iter(buffer))

    assert decoded.headers == {":event-type": "contentBlockDelta", ":message-type": "event"}
    assert decoded.payload == b'{"delta":{"text":"hi"}}'
    corrupt = EventStreamBuffer()
    corrupt.add_data(message[:-1] + bytes([message[-1] ^ 1]))
    with pytest.raises(ChecksumMismatch):
        next(iter(corrupt))


def test_decoder_reads_messages_split_anywhere_and_reports_a_pending_partial_frame():
    messages = [encode_message({":event-type": f"e{i}"}, json.dumps({"i": i}).encode()) for i in range(3)]
    stream = b"".join(messages)
    decoder = EventStreamDecoder()

    decoded = []
    for i in range(0, len(stream) - 10, 7):
        decoded += decoder.feed(stream[i : i + 7])

    assert [headers[":event-type"] for headers, _payload in decoded] == ["e0", "e1"]
    assert decoder.pending > 0


def test_decoder_rejects_a_bad_prelude_crc_and_an_impossible_length():
    message = bytearray(encode_message({":event-type": "x"}, b"{}"))
    message[8] ^= 0xFF

    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bytes(message))

    prelude = (2**31).to_bytes(4, "big") + (0).to_bytes(4, "big")
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(prelude + zlib.crc32(prelude).to_bytes(4, "big"))
