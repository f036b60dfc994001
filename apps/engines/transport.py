"""The one HTTP client of every adapter, and what the adapters share: opening a streaming request, reading
its bytes with the read timeout, splitting server-sent events, and turning failures into ``EngineError``.

An ``httpx2.AsyncClient`` belongs to the event loop that first used it (its connections do), so the process
keeps one client per running loop: the pool is shared by every request on that loop and goes away with it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import json.scanner
import logging
import re
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from django.conf import settings

from apps.engines.base import ChatTurn, EngineConfig, EngineError, Usage, estimate_tokens
from apps.engines.netbackend import AsyncioTransport

logger = logging.getLogger("apps.engines")

# A line or frame bigger than this is not an answer: stop instead of buffering without end.
MAX_FRAME_BYTES = 1 << 20
# An error body is read up to this size (the provider's message is in the first few hundred bytes).
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 500

# Events are decoded from str: json.loads(bytes) would sniff the encoding of every event.
_decoder = json.JSONDecoder()
_scan = json.scanner.make_scanner(_decoder)


def decode_json(text: str) -> Any:
    """``json.loads`` of one event: the decoder's scanner straight away (no whitespace matching, about a fifth
    less CPU per event), and the full decoder, with its errors, for anything the scanner alone does not end at
    the end of the text (surrounding whitespace, extra data, not JSON)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    return value if end == len(text) else _decoder.decode(text)


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx2.AsyncClient] = weakref.WeakKeyDictionary()


def get_client() -> httpx2.AsyncClient:
    """The pooled client of the running loop (created on first use)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        # Every streamed chat answer holds one upstream connection for its whole length: the cap is the number of
        # simultaneous answers one server process relays (ENGINE_MAX_CONNECTIONS, default 1000).
        limits = httpx2.Limits(
            max_connections=getattr(settings, "ENGINE_MAX_CONNECTIONS", 1000),
            max_keepalive_connections=50,
            keepalive_expiry=30.0,
        )
        client = httpx2.AsyncClient(
            # Each request passes its engine's own timeouts; these are the bounds for anything else.
            timeout=httpx2.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0),
            transport=AsyncioTransport(limits=limits),
            follow_redirects=False,
            # Answers are read from the raw stream (see ByteStream); compressing an event stream saves little.
            headers={"Accept-Encoding": "identity"},
        )
        _clients[loop] = client
    return client


async def close_client() -> None:
    """Close the running loop's client (at shutdown of a long-lived loop; tests and benchmarks)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


def safe_message(text: str, config: EngineConfig) -> str:
    """A provider's message made safe to show: secrets masked, whitespace collapsed, length bounded."""
    for secret in config.secrets():
        text = text.replace(secret, "****")
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def kind_for_status(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 429:
        return "rate_limited"
    if status in (408, 504):
        return "timeout"
    return "provider_error"


def retry_after_seconds(headers: httpx2.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (OpenAI, Azure) or ``Retry-After`` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


@dataclass(frozen=True)
class PreparedRequest:
    url: str
    headers: dict[str, str]
    body: bytes


class ByteStream:
    """The body of a streaming response. Iterate ``source`` inside ``with body.reading():``, which turns a
    read that waits longer than the read timeout into ``EngineError('timeout')`` and a connection dropped
    mid-body into ``cut = True`` (the adapter then finishes with what it has).

    ``source`` is the transport's own byte stream, not ``aiter_bytes()``: every HTTP chunk of an answer is
    one delta, and two generator layers less per chunk is most of what the adapters cost (bench/engines.py).
    Requests say ``Accept-Encoding: identity``; a body encoded anyway goes through httpx2's decoders."""

    def __init__(self, response: httpx2.Response, config: EngineConfig) -> None:
        self._config = config
        self.cut = False
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        self.source: AsyncIterable[bytes] = response.stream if encoding == "identity" else response.aiter_bytes()

    @contextmanager
    def reading(self) -> Iterator[None]:
        try:
            yield
        except httpx2.TimeoutException:
            raise EngineError("timeout", f"the provider sent nothing for {self._config.read_timeout:g} s") from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError):
            self.cut = True
        except httpx2.DecodingError:
            raise EngineError("provider_error", "the provider's answer could not be decoded") from None


ErrorParser = Callable[[int, httpx2.Headers, bytes, EngineConfig], EngineError]


@asynccontextmanager
async def open_stream(
    config: EngineConfig, request: PreparedRequest, parse_error: ErrorParser
) -> AsyncIterator[ByteStream]:
    """POST the request and yield its body once the status says it is an answer; an HTTP error becomes the
    ``EngineError`` that ``parse_error`` makes of the provider's error body. Leaving the block (the end, an
    error, or the consumer closing the generator) closes the response, and so the upstream connection."""
    client = get_client()
    timeout = httpx2.Timeout(
        connect=config.connect_timeout, read=config.read_timeout, write=config.read_timeout, pool=config.connect_timeout
    )
    http_request = client.build_request(
        "POST", request.url, headers=request.headers, content=request.body, timeout=timeout
    )
    host = http_request.url.host
    try:
        response = await client.send(http_request, stream=True)
    except httpx2.ConnectTimeout:
        raise EngineError("timeout", f"no connection to {host} within {config.connect_timeout:g} s") from None
    except httpx2.TimeoutException:
        raise EngineError("timeout", f"{host} sent no answer within {config.read_timeout:g} s") from None
    except httpx2.ConnectError:
        raise EngineError("provider_error", f"could not connect to {host}") from None
    except (httpx2.TransportError, httpx2.InvalidURL) as exc:
        raise EngineError("provider_error", f"request to {host} failed ({type(exc).__name__})") from None
    try:
        if response.status_code >= 400:
            body = await _read_limited(response, config)
            error = parse_error(response.status_code, response.headers, body, config)
            logger.info("engine %s: HTTP %s from %s (%s)", config.engine, response.status_code, host, error.kind)
            raise error
        if response.status_code != 200:
            raise EngineError(
                "provider_error",
                f"unexpected HTTP {response.status_code} from the provider",
                status=response.status_code,
            )
        yield ByteStream(response, config)
    finally:
        await response.aclose()


async def _read_limited(response: httpx2.Response, config: EngineConfig) -> bytes:
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= MAX_ERROR_BODY_BYTES:
                break
    except httpx2.TimeoutException:
        raise EngineError(
            "timeout", f"the provider sent nothing for {config.read_timeout:g} s", status=response.status_code
        ) from None
    except httpx2.HTTPError:
        pass  # a cut error body still has a status worth reporting
    return bytes(data[:MAX_ERROR_BODY_BYTES])


_SSE_FIELDS = (b"event:", b"id:", b"retry:", b":")
_NOT_SSE = "the provider's answer is not an event stream"


class SSEParser:
    """Server-sent events split from the bytes of a body in pieces of any size: ``feed`` returns the ``data`` of
    every event that a piece completes, as bytes. Lines end with LF or CRLF; ``data:`` lines are joined with LF;
    ``event:``, ``id:``, ``retry:`` and comments are skipped. A line that is no SSE field means the body is not
    an event stream (an HTML error page, garbage): a provider error rather than something to skip. ``feed``
    returns the events before it and sets ``error``, which the caller raises after them."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []  # the data lines of the event being read
        self.error: EngineError | None = None

    def feed(self, chunk: bytes) -> list[bytes]:
        if self.error is not None:
            return []
        buffer = self._buffer + chunk if self._buffer else chunk
        find, startswith = buffer.find, buffer.startswith
        events: list[bytes] = []
        data = self._data
        start = 0
        while (end := find(b"\n", start)) >= 0:
            # Fast path, what providers send: ``data: {...}`` and a blank line (LF or CRLF), one event.
            if not data and startswith(b"data: ", start):
                if buffer[end - 1] != 13:
                    if startswith(b"\n", end + 1):
                        events.append(buffer[start + 6 : end])
                        start = end + 2
                        continue
                elif startswith(b"\r\n", end + 1):
                    events.append(buffer[start + 6 : end - 1])
                    start = end + 3
                    continue
            line = buffer[start:end]
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data = self._data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
            elif not line.startswith(_SSE_FIELDS):
                self.error = EngineError("provider_error", _NOT_SSE)
                break
        self._buffer = buffer[start:] if start else buffer
        if len(self._buffer) > MAX_FRAME_BYTES and self.error is None:
            self.error = EngineError("provider_error", "the provider sent an over-long event-stream line")
        return events

    def close(self, cut: bool) -> None:
        """The body ended: cleanly in the middle of an event is a provider error; cut, the adapter decides."""
        if self.error is not None:
            raise self.error
        if (self._buffer.strip() or self._data) and not cut:
            raise EngineError("provider_error", "the provider's event stream ended in the middle of an event")


async def sse_batches(body: ByteStream) -> AsyncIterator[list[bytes]]:
    """The ``data`` of the server-sent events of a body, as lists: the events that each piece of the body read
    completes (usually many: a fast model's tokens arrive back to back). One list per read instead of one
    generator step per event is what an adapter saves per delta; see ``SSEParser`` for the format."""
    parser = SSEParser()
    feed = parser.feed
    with body.reading():
        async for chunk in body.source:
            if events := feed(chunk):
                yield events
            if parser.error is not None:
                raise parser.error
    parser.close(body.cut)


def estimated_usage(
    instructions: str, history: tuple[ChatTurn, ...] | list[ChatTurn], prompt: str, answer: str
) -> Usage:
    sent = sum(estimate_tokens(turn.text) for turn in history)
    return Usage(
        input_tokens=estimate_tokens(instructions) + sent + estimate_tokens(prompt),
        output_tokens=estimate_tokens(answer),
        estimated=True,
    )


def malformed(what: str = "event") -> EngineError:
    return EngineError("provider_error", f"the provider sent a malformed {what}")


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def normalized_code(value: object) -> str:
    """A provider's error code or type, lower-cased with separators dropped, for matching."""
    return _NON_WORD.sub("", str(value)).lower() if value else ""
