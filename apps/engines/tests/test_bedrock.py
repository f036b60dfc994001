"""Bedrock Converse stream: SigV4 (checked by the fake with botocore) or API key, and the binary event stream."""

import json
import random
import struct
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer

from apps.engines.base import ChatTurn, EngineError
from apps.engines.bedrock import FrameReader
from apps.engines.fakes import FAKE_ACCESS_KEY_ID, FAKE_API_KEY, Script, encode_message
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


def _delta(text: str) -> bytes:
    headers = {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps({"contentBlockIndex": 0, "delta": {"text": text}}).encode())


def _frame(total: int, headers_length: int, rest: bytes) -> bytes:
    """A message with the given prelude (its CRC right) and the rest as given, its message CRC right."""
    prelude = struct.pack(">II", total, headers_length)
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + rest
    return message + struct.pack(">I", zlib.crc32(message))


def _raw_header(name: bytes, value_type: int, value: bytes) -> bytes:
    return bytes([len(name)]) + name + bytes([value_type]) + value


def _served(fake, body: bytes):
    """The adapter's error for this body answered with HTTP 200 (one delta first, so that it is mid-stream)."""
    fake.script = Script(garbage=(_delta("first") + body).decode("latin-1"))
    return error_of(fake.config())


def test_frame_reader_reads_messages_split_anywhere_and_counts_a_pending_partial_frame():
    first, second, third = _delta("d0"), _delta("d1"), _delta("d2")
    stream = first + second + third[:-5]
    reader = FrameReader()

    messages = []
    for i in range(0, len(stream), 7):
        messages += reader.feed(stream[i : i + 7])

    assert [json.loads(message.payload)["delta"]["text"] for message in messages] == ["d0", "d1"]
    assert messages[0].headers[":event-type"] == "contentBlockDelta"
    assert reader.pending == len(third) - 5


def test_frame_reader_has_nothing_pending_after_whole_messages():
    reader = FrameReader()

    messages = reader.feed(_delta("a") + _delta("b"))

    assert len(messages) == 2
    assert reader.pending == 0


def test_bedrock_bad_prelude_crc_is_a_provider_error(make_fake):
    fake = make_fake("bedrock")
    frame = bytearray(_delta("second"))
    frame[8] ^= 0xFF

    error = _served(fake, bytes(frame))

    assert error.kind == "provider_error"
    assert error.message == "the provider sent a bad event-stream frame (CRC mismatch)"


def test_bedrock_impossible_message_lengths_are_a_provider_error(make_fake):
    fake = make_fake("bedrock")
    too_long = struct.pack(">II", 2**31, 0)  # botocore's own check
    prelude_only = struct.pack(">II", 12, 0)  # passes botocore's CRC checks: the reader's check
    # A byte-array header claiming 255 bytes: botocore reads the message CRC into it; the reader's check.
    past_the_payload = _raw_header(b"a", 6, b"\x00\xff")

    errors = [
        _served(fake, too_long + struct.pack(">I", zlib.crc32(too_long))),
        _served(fake, prelude_only + struct.pack(">I", zlib.crc32(prelude_only))),
        _served(fake, _frame(16 + len(past_the_payload), len(past_the_payload) + 4, past_the_payload)),
    ]

    assert [error.kind for error in errors] == ["provider_error"] * 3
    assert {error.message for error in errors} == {
        "the provider sent a bad event-stream frame (impossible message length)"
    }


def test_bedrock_duplicate_and_malformed_headers_are_a_provider_error(make_fake):
    fake = make_fake("bedrock")
    type_header = _raw_header(b":event-type", 7, b"\x00\x01x")
    unknown_type = _raw_header(b":event-type", 42, b"")
    cut_short = _raw_header(b":event-type", 7, b"\x00")  # the value's length field cut in half

    messages = [
        _served(fake, _frame(16 + 2 * len(type_header), 2 * len(type_header), type_header * 2)).message,
        _served(fake, _frame(16 + len(unknown_type), len(unknown_type), unknown_type)).message,
        _served(fake, _frame(16 + len(cut_short), len(cut_short), cut_short)).message,
    ]

    assert messages == [
        "the provider sent a bad event-stream frame (duplicate header)",
        "the provider sent a bad event-stream frame (malformed headers)",
        "the provider sent a bad event-stream frame (malformed headers)",
    ]


def test_frame_reader_errors_are_engine_errors_not_botocore_exceptions():
    corrupt = bytearray(_delta("x"))
    corrupt[-1] ^= 0x01

    with pytest.raises(EngineError) as caught:
        FrameReader().feed(bytes(corrupt))

    assert caught.value.kind == "provider_error"
    assert "CRC" in caught.value.message


# --- the reader against botocore's decoder, on the same bytes ------------------------------------------------------


def _botocore_messages(data: bytes, pieces: int = 1) -> list[tuple[dict, bytes]]:
    buffer = EventStreamBuffer()
    messages = []
    step = max(len(data) // pieces, 1)
    for start in range(0, len(data), step):
        buffer.add_data(data[start : start + step])
        messages += [(message.headers, message.payload) for message in buffer]
    return messages


def _our_messages(data: bytes, pieces: int = 1) -> list[tuple[dict, bytes]]:
    reader = FrameReader()
    messages = []
    step = max(len(data) // pieces, 1)
    for start in range(0, len(data), step):
        messages += [(message.headers, message.payload) for message in reader.feed(data[start : start + step])]
    assert reader.pending == 0
    return messages


def _message(headers: bytes, payload: bytes) -> bytes:
    return _frame(16 + len(headers) + len(payload), len(headers), headers + payload)


EVERY_HEADER = [
    _raw_header(b"true", 0, b""),
    _raw_header(b"false", 1, b""),
    _raw_header(b"byte", 2, b"\xfe"),
    _raw_header(b"short", 3, struct.pack(">h", -300)),
    _raw_header(b"int", 4, struct.pack(">i", -70000)),
    _raw_header(b"long", 5, struct.pack(">q", -(2**40))),
    _raw_header(b"bytes", 6, b"\x00\x03\x00\xffz"),
    _raw_header(b"string", 7, struct.pack(">H", len("ünï".encode())) + "ünï".encode()),
    _raw_header(b"time", 8, struct.pack(">q", 1767225600000)),
    _raw_header(b"uuid", 9, bytes(range(16))),
    _raw_header(b"", 7, b"\x00\x00"),  # an empty name and an empty value
]
EVERY_TYPE = b"".join(EVERY_HEADER)


def test_reader_decodes_what_botocore_decodes_header_types_and_payloads():
    stream = b"".join(
        [
            _delta("first"),
            _message(EVERY_TYPE, b'{"x":1}'),
            _message(b"", b""),  # no headers, no payload
            _message(_raw_header(b":event-type", 7, b"\x00\x01a"), bytes(range(256)) * 40),
            encode_message({":message-type": "exception", ":exception-type": "throttlingException"}, b"{}"),
        ]
    )
    expected = _botocore_messages(stream)

    assert len(expected) == 5
    assert expected[1][0]["uuid"] == bytes(range(16))
    for pieces in (1, 3, 17, len(stream)):
        assert _our_messages(stream, pieces) == expected == _botocore_messages(stream, pieces)


def test_reader_rejects_every_corruption_botocore_rejects():
    stream = _delta("one") + _message(EVERY_TYPE, b'{"x":1}')
    for index in range(len(stream)):
        corrupt = bytearray(stream)
        corrupt[index] ^= 0x10
        try:
            theirs = _botocore_messages(bytes(corrupt))
        except Exception:  # any of botocore's errors
            theirs = None
        try:
            reader = FrameReader()
            ours = [(message.headers, message.payload) for message in reader.feed(bytes(corrupt))]
            if reader.error is not None:
                raise reader.error
        except EngineError as error:
            assert error.kind == "provider_error"
            ours = None
        assert theirs is None, index  # the CRCs catch every flipped bit
        assert ours is None, index


def test_reader_and_botocore_agree_on_random_headers_with_right_crcs():
    """Random header bytes in messages whose CRCs are right: both decode the same headers, or both refuse, or
    (the one documented difference) botocore returns a string, byte array or UUID value that runs past the end
    of the headers cut short, where the reader refuses it."""
    rng = random.Random(11)
    outcomes = {"same": 0, "both refuse": 0, "botocore shortens": 0}
    for _ in range(3000):
        headers = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 24)))
        if rng.random() < 0.7:  # valid headers of every type, in a random order, some with bytes changed
            headers = bytearray(b"".join(rng.sample(EVERY_HEADER, rng.randint(1, len(EVERY_HEADER)))))
            for _ in range(rng.choice((0, 0, 1, 2))):
                headers[rng.randrange(len(headers))] = rng.getrandbits(8)
            headers = bytes(headers)
        message = _message(headers, b"{}")
        try:
            theirs = _botocore_messages(message)
        except Exception:  # any of botocore's errors
            theirs = None
        try:
            ours = _our_messages(message)
        except EngineError:
            ours = None
        if ours == theirs:
            outcomes["same" if ours is not None else "both refuse"] += 1
        else:
            assert ours is None, headers
            assert _claims_more_than_it_holds(headers), headers
            outcomes["botocore shortens"] += 1
    assert outcomes["same"] > 1000
    assert outcomes["both refuse"] > 500
    assert outcomes["botocore shortens"] > 10


def _claims_more_than_it_holds(headers: bytes) -> bool:
    """Whether a string, byte-array or UUID value of these headers runs past the bytes left."""
    pos = 0
    sizes = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
    while pos < len(headers):
        pos += 1 + headers[pos]
        kind = headers[pos]
        pos += 1
        if kind in (6, 7):
            length = int.from_bytes(headers[pos : pos + 2], "big")
            if pos + 2 + length > len(headers):
                return True
            pos += 2 + length
        elif kind == 9 and pos + 16 > len(headers):
            return True
        else:
            pos += sizes[kind]
    return False


def test_messages_before_a_bad_one_in_the_same_read_come_first(make_fake):
    fake = make_fake("bedrock")
    bad = bytearray(_delta("never"))
    bad[-1] ^= 0x01
    fake.script = Script(garbage=(_delta("one") + _delta("two") + bytes(bad)).decode("latin-1"))

    reader = FrameReader()
    messages = reader.feed(_delta("one") + _delta("two") + bytes(bad))
    assert len(messages) == 2
    assert "CRC" in reader.error.message
    with pytest.raises(EngineError):
        reader.feed(b"")

    assert "CRC" in error_of(fake.config()).message


def test_repeated_header_blocks_are_parsed_once_and_each_message_has_its_own_headers():
    reader = FrameReader()
    first, second = reader.feed(_delta("a") + _delta("b"))
    first.headers[":event-type"] = "changed by the caller"

    (third,) = reader.feed(_delta("c"))

    assert second.headers == third.headers == _botocore_messages(_delta("c"))[0][0]
    assert [json.loads(m.payload)["delta"]["text"] for m in (second, third)] == ["b", "c"]
