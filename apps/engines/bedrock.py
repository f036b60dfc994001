"""AWS Bedrock Converse, streamed (``/model/{id}/converse-stream``): engine AWS Bedrock. The only module that
knows this format's field names. botocore signs (SigV4) and decodes the binary event stream
(``EventStreamBuffer``, CRCs checked); no boto3, no botocore session, no botocore HTTP."""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

import httpx2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import (
    ChecksumMismatch,
    DuplicateHeader,
    EventStreamBuffer,
    EventStreamMessage,
    InvalidHeadersLength,
    InvalidPayloadLength,
    ParserError,
)

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


# A message's prelude (12 bytes) and trailing CRC (4): no message is shorter.
_MIN_MESSAGE_LENGTH = 16
# What else botocore's header parser lets out on malformed headers: a header cut short (struct.error), an
# unknown value type (KeyError), a name or string value that is not UTF-8 (UnicodeDecodeError, a ValueError).
_FRAME_ERRORS = (ParserError, struct.error, KeyError, ValueError)


def _bad_frame(reason: str) -> EngineError:
    return EngineError("provider_error", f"the provider sent a bad event-stream frame ({reason})")


def _frame_problem(exc: Exception) -> str:
    if isinstance(exc, ChecksumMismatch):
        return "CRC mismatch"
    if isinstance(exc, InvalidHeadersLength | InvalidPayloadLength):
        return "impossible message length"
    if isinstance(exc, DuplicateHeader):
        return "duplicate header"
    return "malformed headers"


class FrameReader:
    """botocore's ``EventStreamBuffer`` plus what the adapter needs around it: the bytes it still holds, counted
    from each message's prelude (a non-zero count when the body ends is a truncated last frame, which the buffer
    alone cannot tell from a clean end), its errors as ``EngineError``, and the message lengths it does not check
    itself (a total shorter than prelude and CRC, headers running past the payload)."""

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self.pending = 0

    def feed(self, data: bytes) -> list[EventStreamMessage]:
        self._buffer.add_data(data)
        self.pending += len(data)
        try:
            messages = list(self._buffer)
        except _FRAME_ERRORS as exc:
            raise _bad_frame(_frame_problem(exc)) from None
        for message in messages:
            total, headers_length = message.prelude.total_length, message.prelude.headers_length
            if total < _MIN_MESSAGE_LENGTH or headers_length > total - _MIN_MESSAGE_LENGTH:
                raise _bad_frame("impossible message length")
            self.pending -= total
        return messages


def _header(headers: dict[str, object], name: str) -> str:
    """A string header; botocore also returns other types (bytes, ints, booleans) which no Bedrock header we read
    has."""
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
        if frames.pending and not body.cut:
            raise EngineError("provider_error", "the provider's event stream ended in the middle of a frame")
    if not answer and stop_reason is None:
        raise EngineError("provider_error", "the provider closed the stream before answering")
    if usage is None:  # metadata is the last event: a cut stream never has it
        usage = estimated_usage(instructions, history, prompt, "".join(answer))
    provider_reason = stop_reason or ""
    yield Finish(reason=FINISH_REASONS.get(provider_reason, "other"), provider_reason=provider_reason, usage=usage)
