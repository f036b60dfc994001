"""AWS Bedrock Converse, streamed (``/model/{id}/converse-stream``): engine AWS Bedrock. The only module that
knows this format's field names. botocore signs (SigV4); no boto3, no botocore session, no botocore HTTP. The
binary event stream is decoded here (``FrameReader``: about 60 lines, CRCs checked with ``zlib.crc32``), checked
in the tests against botocore's ``EventStreamBuffer`` on the same bytes: botocore's decoder parses each header
through several Python calls and copies its buffer once per message, which made Bedrock's answers cost twice
the CPU per delta of the other engines (docs/engines.md, "Measured")."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import NamedTuple
from urllib.parse import quote

import httpx2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from apps.engines.base import ChatTurn, EngineConfig, EngineError, Finish, TextDelta, Usage
from apps.engines.transport import (
    PreparedRequest,
    as_int,
    decode_json,
    estimated_usage,
    kind_for_status,
    malformed,
    open_stream,
    retry_after_seconds,
    safe_message,
)

SIGNING_SERVICE = "bedrock"

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "tool_use": "tool_calls",
}

# Bedrock's error types, from the x-amzn-ErrorType header or a stream exception's :exception-type.
_ERROR_KINDS = {
    "accessdeniedexception": "auth",
    "unrecognizedclientexception": "auth",
    "invalidsignatureexception": "auth",
    "expiredtokenexception": "auth",
    "incompletesignatureexception": "auth",
    "resourcenotfoundexception": "not_found",
    "throttlingexception": "rate_limited",
    "servicequotaexceededexception": "rate_limited",
    "modeltimeoutexception": "timeout",
}


# A message's prelude (12 bytes: total length, headers length, CRC32 of those 8 bytes) and trailing CRC (4).
_PRELUDE = struct.Struct(">III")
_CRC = struct.Struct(">I")
_MIN_MESSAGE_LENGTH = 16
# botocore's limits, kept so that both decoders refuse the same messages.
_MAX_HEADERS_LENGTH = 128 * 1024
_MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024
# Header value types 2-5 and 8 (timestamp, milliseconds), big-endian signed integers; 0 and 1 are true and false.
_INTEGERS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q")}
_INTEGERS[8] = _INTEGERS[5]
_STRING, _BYTES, _UUID = 7, 6, 9
_KNOWN_HEADERS = 16  # distinct header blocks remembered per stream (Bedrock has about six)


class EventMessage(NamedTuple):
    headers: dict[str, object]
    payload: bytes


def _bad_frame(reason: str) -> EngineError:
    return EngineError("provider_error", f"the provider sent a bad event-stream frame ({reason})")


def _headers(data: bytes, pos: int, end: int) -> dict[str, object]:
    """The headers between ``pos`` and ``end``: ``name length (u8) | name | type (u8) | value``, where a string
    (7) or byte array (6) value is ``length (u16) | bytes``. The same values as botocore's parser; stricter in one
    case, a value that claims more bytes than the headers hold (botocore returns it shorter)."""
    headers: dict[str, object] = {}
    try:
        while pos < end:
            name_end = pos + 1 + data[pos]
            if name_end >= end:
                raise _bad_frame("malformed headers")
            name = data[pos + 1 : name_end].decode()
            kind = data[name_end]
            pos = name_end + 1
            if kind in (_STRING, _BYTES):
                value_end = pos + 2 + (data[pos] << 8 | data[pos + 1]) if pos + 2 <= end else end + 1
                if value_end > end:
                    raise _bad_frame("malformed headers")
                value: object = data[pos + 2 : value_end]
                if kind == _STRING:
                    value = value.decode()
                pos = value_end
            elif kind <= 1:
                value = kind == 0
            elif unpacker := _INTEGERS.get(kind):
                if pos + unpacker.size > end:
                    raise _bad_frame("malformed headers")
                value = unpacker.unpack_from(data, pos)[0]
                pos += unpacker.size
            elif kind == _UUID and pos + 16 <= end:
                value = data[pos : pos + 16]
                pos += 16
            else:
                raise _bad_frame("malformed headers")
            if name in headers:
                raise _bad_frame("duplicate header")
            headers[name] = value
    except UnicodeDecodeError:
        raise _bad_frame("malformed headers") from None
    return headers


class FrameReader:
    """The messages of an AWS event stream (``application/vnd.amazon.eventstream``) from bytes in pieces of any
    size: ``total length (u32) | headers length (u32) | CRC32 of those 8 bytes | headers | payload | CRC32 of
    all before``. ``pending`` counts the bytes of a message not complete yet: non-zero when the body ends is a
    truncated last frame. Every problem is an ``EngineError``: a CRC mismatch, an impossible length (shorter
    than prelude and CRC, headers running past the payload, beyond botocore's limits), a duplicate or malformed
    header. ``feed`` raises it, or, when the bytes fed completed messages before the bad one, returns those and
    keeps the error in ``error`` (raised by the next ``feed``), so that the caller handles them first."""

    def __init__(self) -> None:
        self._buffer = b""
        self.error: EngineError | None = None
        # Bedrock sends the same header bytes with every delta: they are parsed once per stream.
        self._known: dict[bytes, dict[str, object]] = {}

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[EventMessage]:
        if self.error is not None:
            raise self.error
        buffer = self._buffer + data if self._buffer else data
        messages: list[EventMessage] = []
        try:
            pos = self._messages(buffer, messages)
        except EngineError as error:
            if not messages:
                raise
            self.error = error
            return messages
        self._buffer = buffer[pos:] if pos else buffer
        return messages

    def _messages(self, buffer: bytes, messages: list[EventMessage]) -> int:
        """Append the complete messages at the start of ``buffer``; the offset after the last one."""
        size = len(buffer)
        known = self._known
        pos = 0
        while size - pos >= 12:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(buffer, pos)
            if zlib.crc32(buffer[pos : pos + 8]) != prelude_crc:
                raise _bad_frame("CRC mismatch")
            payload_length = total - headers_length - _MIN_MESSAGE_LENGTH
            if (
                total < _MIN_MESSAGE_LENGTH
                or payload_length < 0
                or headers_length > _MAX_HEADERS_LENGTH
                or payload_length > _MAX_PAYLOAD_LENGTH
            ):
                raise _bad_frame("impossible message length")
            end = pos + total
            if end > size:
                break
            if zlib.crc32(buffer[pos + 8 : end - 4], prelude_crc) != _CRC.unpack_from(buffer, end - 4)[0]:
                raise _bad_frame("CRC mismatch")
            headers_end = pos + 12 + headers_length
            raw = buffer[pos + 12 : headers_end]
            if (headers := known.get(raw)) is None:
                headers = _headers(raw, 0, headers_length)
                if len(known) < _KNOWN_HEADERS:
                    known[raw] = headers
            messages.append(EventMessage(headers.copy(), buffer[headers_end : end - 4]))
            pos = end
        return pos


def _header(headers: dict[str, object], name: str) -> str:
    """A string header; the format also has other types (bytes, integers, booleans), which no Bedrock header we
    read has."""
    value = headers.get(name)
    return value if isinstance(value, str) else ""


def default_base_url(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def _messages(history: Sequence[ChatTurn], prompt: str) -> list[dict]:
    """Converse wants the conversation to start with a user turn and to alternate roles, so an opening
    assistant turn (a greeting) is dropped and consecutive turns of one role are joined."""
    messages: list[dict] = []
    for role, text in [(turn.role, turn.text) for turn in history] + [("user", prompt)]:
        if not text or (not messages and role != "user"):
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"][0]["text"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": [{"text": text}]})
    return messages


def build_request(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> PreparedRequest:
    base = (config.base_url or default_base_url(config.region)).strip().rstrip("/")
    url = f"{base}/model/{quote(config.model, safe='')}/converse-stream"
    body: dict[str, object] = {"messages": _messages(history, prompt)}
    if instructions:
        body["system"] = [{"text": instructions}]
    inference: dict[str, object] = {"temperature": config.temperature}
    if config.max_tokens:
        inference["maxTokens"] = config.max_tokens
    body["inferenceConfig"] = inference
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    else:
        signed = AWSRequest(method="POST", url=url, data=raw, headers=headers)
        credentials = Credentials(config.access_key_id, config.secret_access_key, config.session_token or None)
        SigV4Auth(credentials, SIGNING_SERVICE, config.region).add_auth(signed)
        headers = dict(signed.headers.items())
    return PreparedRequest(url=url, headers=headers, body=raw)


def _error(error_type: str, message: str, status: int | None, config: EngineConfig) -> EngineError:
    code = error_type.split(":", 1)[0].strip().lower()
    kind = _ERROR_KINDS.get(code)
    text = safe_message(message, config)
    if kind is None and code == "validationexception" and "model identifier" in text.lower():
        kind = "not_found"  # Bedrock answers an unknown model id with a 400 ValidationException
    if kind is None:
        kind = kind_for_status(status) if status else "provider_error"
    if not text:
        text = error_type.split(":", 1)[0] or (f"HTTP {status} from the provider" if status else "provider error")
    return EngineError(kind, text, status=status)


def parse_error(status: int, headers: httpx2.Headers, body: bytes, config: EngineConfig) -> EngineError:
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        payload = {}
    message = ""
    if isinstance(payload, dict):
        message = str(payload.get("message") or payload.get("Message") or "")
    error = _error(headers.get("x-amzn-errortype", ""), message, status, config)
    if error.kind == "rate_limited":
        error.retry_after = retry_after_seconds(headers)
    return error


def _payload(raw: bytes) -> dict:
    try:
        payload = decode_json(raw.decode())
    except ValueError:
        raise malformed() from None
    if not isinstance(payload, dict):
        raise malformed()
    return payload


async def stream(
    config: EngineConfig, *, instructions: str, history: Sequence[ChatTurn], prompt: str
) -> AsyncIterator[TextDelta | Finish]:
    request = build_request(config, instructions=instructions, history=history, prompt=prompt)
    frames = FrameReader()
    answer: list[str] = []
    stop_reason: str | None = None
    usage: Usage | None = None
    async with open_stream(config, request, parse_error) as body:
        with body.reading():
            async for chunk in body.source:
                for frame in frames.feed(chunk):
                    headers, raw = frame.headers, frame.payload
                    message_type = headers.get(":message-type")
                    if message_type == "exception":
                        message = str(_payload(raw).get("message") or "")
                        raise _error(_header(headers, ":exception-type"), message, None, config)
                    if message_type == "error":
                        raise _error(_header(headers, ":error-code"), _header(headers, ":error-message"), None, config)
                    event_type = headers.get(":event-type")
                    if event_type == "contentBlockDelta":
                        delta = _payload(raw).get("delta")
                        if isinstance(delta, dict) and (text := delta.get("text")):
                            if not isinstance(text, str):
                                raise malformed()
                            answer.append(text)
                            yield TextDelta(text)
                    elif event_type == "messageStop":
                        stop_reason = str(_payload(raw).get("stopReason") or "")
                    elif event_type == "metadata":
                        raw_usage = _payload(raw).get("usage")
                        if isinstance(raw_usage, dict):
                            usage = Usage(
                                input_tokens=as_int(raw_usage.get("inputTokens")),
                                output_tokens=as_int(raw_usage.get("outputTokens")),
                                cached_tokens=as_int(raw_usage.get("cacheReadInputTokens")),
                            )
                if frames.error is not None:
                    raise frames.error
        if frames.pending and not body.cut:
            raise EngineError("provider_error", "the provider's event stream ended in the middle of a frame")
    if not answer and stop_reason is None:
        raise EngineError("provider_error", "the provider closed the stream before answering")
    if usage is None:  # metadata is the last event: a cut stream never has it
        usage = estimated_usage(instructions, history, prompt, "".join(answer))
    provider_reason = stop_reason or ""
    yield Finish(reason=FINISH_REASONS.get(provider_reason, "other"), provider_reason=provider_reason, usage=usage)
