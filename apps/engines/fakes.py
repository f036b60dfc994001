"""Fake LLM servers on loopback that speak each wire format byte for byte, for tests, benchmarks and the
development engine (``manage.py run_demo_llm``).

One small HTTP/1.1 server (asyncio, in a background thread or in the foreground) answers as OpenAI, Azure
OpenAI, Mistral, an OpenAI-compatible LLaMA server, Gemini or Bedrock, following a ``Script``: the answer split
into N deltas with delays, a slow first token, HTTP errors with the provider's own error bodies and headers,
an error mid-stream, a connection cut before usage, garbage bytes, a bad CRC (Bedrock), Azure's filter frames.
It checks credentials the way the provider does (Bearer, ``api-key``, ``x-goog-api-key``, SigV4 recomputed
with botocore from the request it received) and records every request (path, headers, JSON body, whether the
client went away) so that tests can assert what an engine sent.

Control endpoints, for a server in another process: ``POST /_fake/script`` (a JSON ``Script``) and
``GET /_fake/requests``. Run one: ``python -m apps.engines.fakes --wire bedrock --port 9000``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hmac
import json
import re
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from apps.engines.base import EngineConfig, estimate_tokens

WIRES = ("openai", "azure-openai", "mistral", "llama", "google", "bedrock")
OPENAI_FAMILY = ("openai", "azure-openai", "mistral", "llama")

FAKE_API_KEY = "sk-fake-0123456789abcdef"
FAKE_ACCESS_KEY_ID = "AKIAFAKE0123456789AB"
FAKE_SECRET_ACCESS_KEY = "fake/secret/access/key/0123456789abcdefgh"
FAKE_REGION = "us-east-1"
FAKE_DEPLOYMENT = "gpt-4o-prod"
FAKE_MODELS = {
    "openai": "gpt-4o-mini",
    "azure-openai": "gpt-4o",
    "mistral": "mistral-small-latest",
    "llama": "llama3.2",
    "google": "gemini-2.5-flash",
    "bedrock": "anthropic.claude-3-5-haiku-20241022-v1:0",
}
_CREATED = 1767225600


@dataclass
class Script:
    """How the fake answers the next requests (until changed)."""

    text: str = "Hello! This is the fake engine answering."
    deltas: int = 0  # 0: one delta per word; N: the text cut into N nearly equal pieces
    delay: float = 0.0  # seconds between two deltas
    first_delay: float = 0.0  # seconds between the response headers and the first delta (a slow first token)
    input_tokens: int = 21  # negative: estimated from the request body, as the development engine does
    output_tokens: int | None = None  # None: the number of deltas
    cached_tokens: int = 0
    finish_reason: str = ""  # the provider's own spelling; empty: the format's normal stop
    status: int = 200  # >= 400: answer with the provider's error body for this status
    error_message: str = ""  # overrides the provider's message; "{key}" is replaced by the key received
    error_code: str = ""  # overrides the provider's code / type / exception type
    retry_after: str = ""  # Retry-After header of an error
    error_after: int | None = None  # send an error frame after this many deltas, then end the body
    cut_after: int | None = None  # drop the connection after this many deltas (no finish, no usage)
    garbage: str = ""  # answer 200 and this body (latin-1 bytes) instead of a stream
    truncate_after: int | None = None  # after this many deltas send half a frame and end the body cleanly
    bad_crc_after: int | None = None  # Bedrock: corrupt the CRC of the frame after this many deltas
    filter_frames: bool = False  # Azure: the prompt_filter_results frame first and a filter frame last
    send_usage: bool = True  # False: act as a server that ignores include_usage
    rechunk: int = 0  # N > 0: the body in HTTP chunks of N bytes, frames split across them (0: a chunk per frame)
    hold_open: float = 0.0  # seconds between the last frame and the end of the chunked body (a slow server)
    pause_after: int | None = None  # after this many deltas, go silent for ``pause`` seconds (a stall mid-answer)
    pause: float = 0.0

    def pieces(self, text: str) -> list[str]:
        if self.deltas <= 0:
            return re.findall(r"\S+\s*", text) or [text]
        step, extra = divmod(len(text), self.deltas)
        pieces, pos = [], 0
        for index in range(self.deltas):
            size = step + (1 if index < extra else 0)
            pieces.append(text[pos : pos + size])
            pos += size
        return [piece for piece in pieces if piece] or [text]


@dataclass
class RecordedRequest:
    method: str
    path: str  # the raw target, query included
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    disconnected: threading.Event = field(default_factory=threading.Event)
    first_byte_at: float | None = None  # time.perf_counter() when the first delta was written
    started_at: float = 0.0

    @property
    def url_path(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def summary(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "json": self.json,
            "disconnected": self.disconnected.is_set(),
            "first_byte_at": self.first_byte_at,
            "started_at": self.started_at,
        }


class _Cut(Exception):
    """Drop the connection without finishing the body."""


class FakeEngineServer:
    """A fake provider for one wire format. ``with FakeEngineServer("google") as fake: fake.config()``."""

    def __init__(
        self,
        wire: str,
        *,
        script: Script | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = FAKE_API_KEY,
        answer: Callable[[RecordedRequest], str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if wire not in WIRES:
            raise ValueError(f"unknown wire format {wire!r}")
        self.wire = wire
        self.script = script or Script()
        self.host = host
        self.port = port
        self.api_key = api_key  # empty: no key checked (a self-hosted LLaMA server)
        self.answer = answer  # composes the answer from the request instead of script.text
        self.ssl_context = ssl_context  # serve HTTPS (tests of the client's TLS path)
        self.requests: list[RecordedRequest] = []
        self.connections = 0  # TCP connections accepted (a client that reuses its connection opens one)
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # --- life cycle -----------------------------------------------------------------------------------------------

    async def start_async(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        """Serve in the running loop until cancelled (listening already if ``start_async`` ran)."""
        if self._server is None:
            await self.start_async()
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> FakeEngineServer:
        """Serve from a background thread with its own event loop."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start_async())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"fake-{self.wire}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            self._server.close()
            # Connections a client keeps alive for its next request are dropped, not waited for (a client whose
            # event loop is gone never closes them).
            for writer in list(self._writers):
                writer.transport.abort()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeEngineServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- what a test needs ----------------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL an admin would enter for this provider (with /v1 for the OpenAI family)."""
        if self.wire in ("openai", "mistral", "llama"):
            return f"{self.origin}/v1"
        return self.origin

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    def config(self, **overrides: Any) -> EngineConfig:
        """An EngineConfig pointing at this fake with valid credentials."""
        values: dict[str, Any] = {"engine": self.wire, "base_url": self.base_url, "model": FAKE_MODELS[self.wire]}
        if self.wire == "azure-openai":
            values.update(model="", deployment=FAKE_DEPLOYMENT, api_version="2024-10-21", api_key=self.api_key)
        elif self.wire == "bedrock":
            values.update(
                region=FAKE_REGION, access_key_id=FAKE_ACCESS_KEY_ID, secret_access_key=FAKE_SECRET_ACCESS_KEY
            )
        else:
            values["api_key"] = self.api_key
        values.update(overrides)
        return EngineConfig(**values)

    def wait_disconnected(self, timeout: float = 5.0) -> bool:
        return self.last.disconnected.wait(timeout)

    # --- HTTP/1.1 -------------------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                request = RecordedRequest(method, target, headers, body, parsed, started_at=time.perf_counter())
                if not target.startswith("/_fake/"):
                    self.requests.append(request)
                # Watch for the client going away while we answer (a cancelled stream closes the socket).
                watcher = asyncio.ensure_future(self._watch(reader, request))
                try:
                    keep_alive = await self._respond(request, writer)
                except (_Cut, ConnectionError):
                    return
                finally:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                if not keep_alive or reader.at_eof() or headers.get("connection", "").lower() == "close":
                    return
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _watch(self, reader: asyncio.StreamReader, request: RecordedRequest) -> None:
        # HTTP/1.1 clients do not send the next request before this response ends, so any read here
        # returning b"" is the client closing the connection.
        try:
            data = await reader.read(1)
        except ConnectionError:
            data = b""
        if data == b"":
            request.disconnected.set()

    async def _respond(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        if request.path.startswith("/_fake/"):
            return await self._control(request, writer)
        script = self.script
        if self.wire in OPENAI_FAMILY and request.method == "GET" and request.url_path == "/v1/models":
            models = [{"id": FAKE_MODELS[self.wire], "object": "model", "created": _CREATED, "owned_by": "fake"}]
            await self._write_json(writer, 200, {"object": "list", "data": models})
            return True
        route_error = self._route(request)
        if route_error is None:
            route_error = self._check_auth(request)
        if route_error is None and script.status >= 400:
            route_error = (script.status, script.error_message, script.error_code)
        if route_error is not None:
            status, message, code = route_error
            await self._write_error(writer, request, status, message, code)
            return True
        if script.garbage:
            body = script.garbage.encode("latin-1")
            await self._write_head(
                writer, 200, [("Content-Type", "text/event-stream"), ("Content-Length", str(len(body)))]
            )
            writer.write(body)
            await writer.drain()
            return True
        if self.wire in OPENAI_FAMILY and isinstance(request.json, dict) and request.json.get("stream") is not True:
            await self._write_completion(writer, request)
            return True
        await self._stream(writer, request)
        return True

    async def _write_head(self, writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]]) -> None:
        reason = _REASONS.get(status, "Error")
        lines = [
            f"HTTP/1.1 {status} {reason}",
            "Date: Thu, 01 Jan 2026 00:00:00 GMT",
            *(f"{k}: {v}" for k, v in headers),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()

    async def _write_json(
        self, writer: asyncio.StreamWriter, status: int, payload: object, extra: list[tuple[str, str]] = ()
    ) -> None:
        body = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra]
        await self._write_head(writer, status, headers)
        writer.write(body)
        await writer.drain()

    async def _control(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        if request.method == "POST" and request.url_path == "/_fake/script":
            known = {f.name for f in dataclasses.fields(Script)}
            self.script = Script(**{k: v for k, v in (request.json or {}).items() if k in known})
            self.requests.clear()
            await self._write_json(writer, 200, {"ok": True})
        elif request.method == "GET" and request.url_path == "/_fake/requests":
            await self._write_json(writer, 200, [r.summary() for r in self.requests])
        else:
            await self._write_json(writer, 404, {"error": "unknown control endpoint"})
        return True

    # --- routes and credentials, per provider ---------------------------------------------------------------------

    def _route(self, request: RecordedRequest) -> tuple[int, str, str] | None:
        path, wire = request.url_path, self.wire
        if wire in ("openai", "mistral", "llama"):
            if path != "/v1/chat/completions" or request.method != "POST":
                return 404, f"Invalid URL ({request.method} {path})", "unknown_url"
        elif wire == "azure-openai":
            classic = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", path)
            if classic:
                if not request.query.get("api-version"):
                    return 404, "Resource not found", "404"
                if unquote(classic.group(1)) != FAKE_DEPLOYMENT:
                    return 404, _AZURE_NO_DEPLOYMENT, "DeploymentNotFound"
            elif path == "/openai/v1/chat/completions":
                model = request.json.get("model") if isinstance(request.json, dict) else None
                if model != FAKE_DEPLOYMENT:
                    return 404, _AZURE_NO_DEPLOYMENT, "DeploymentNotFound"
            else:
                return 404, "Resource not found", "404"
        elif wire == "google":
            match = re.fullmatch(r"/v1beta/models/([^/:]+):streamGenerateContent", path)
            if not match or request.method != "POST":
                return 404, f"The requested URL {path} was not found on this server.", "NOT_FOUND"
            if request.query.get("alt") != ["sse"]:
                return 400, "This fake only streams with alt=sse.", "INVALID_ARGUMENT"
        elif wire == "bedrock" and not re.fullmatch(r"/model/[^/]+/converse-stream", path):
            return 404, "Not Found", "UnknownOperationException"
        if request.method == "POST" and not isinstance(request.json, dict):
            return 400, "We could not parse the JSON body of your request.", "invalid_request_error"
        return None

    def _check_auth(self, request: RecordedRequest) -> tuple[int, str, str] | None:
        headers, wire = request.headers, self.wire
        if wire == "bedrock":
            return self._check_bedrock_auth(request)
        if not self.api_key:
            return None
        if wire == "azure-openai":
            ok = headers.get("api-key") == self.api_key
        elif wire == "google":
            ok = headers.get("x-goog-api-key") == self.api_key
        else:
            ok = headers.get("authorization") == f"Bearer {self.api_key}"
        if ok:
            return None
        if wire == "google":
            return 400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
        return 401, "", ""

    def _check_bedrock_auth(self, request: RecordedRequest) -> tuple[int, str, str] | None:
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            if authorization == f"Bearer {self.api_key}":
                return None
            return 403, "Invalid API Key format: Must start with pre-defined prefix", "UnrecognizedClientException"
        if verify_sigv4(request, {FAKE_ACCESS_KEY_ID: FAKE_SECRET_ACCESS_KEY}, FAKE_REGION, "bedrock"):
            return None
        return 403, _AWS_BAD_SIGNATURE, "InvalidSignatureException"

    # --- errors, per provider -------------------------------------------------------------------------------------

    async def _write_error(
        self, writer: asyncio.StreamWriter, request: RecordedRequest, status: int, message: str, code: str
    ) -> None:
        key = request.headers.get("authorization", "").removeprefix("Bearer ") or request.headers.get(
            "api-key", request.headers.get("x-goog-api-key", "")
        )
        message = (message or self.script.error_message).replace("{key}", key)
        code = code or self.script.error_code
        extra: list[tuple[str, str]] = []
        if status == 429 and self.script.retry_after:
            extra.append(("Retry-After", self.script.retry_after))
            if self.wire == "azure-openai":
                extra.append(("retry-after-ms", str(int(float(self.script.retry_after) * 1000))))
        if self.wire == "bedrock":
            code = code or _BEDROCK_TYPES.get(status, "InternalServerException")
            extra.append(("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"))
            extra.append(("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"))
            await self._write_json(
                writer, status, {"message": message or _BEDROCK_MESSAGES.get(status, "Error")}, extra
            )
        elif self.wire == "google":
            status_name = _GOOGLE_STATUSES.get(status, "INTERNAL")
            error: dict[str, Any] = {
                "code": status,
                "message": message or _GOOGLE_MESSAGES.get(status, "Error"),
                "status": status_name,
            }
            if code == "API_KEY_INVALID":
                error["status"] = "INVALID_ARGUMENT"
                error["details"] = [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ]
            elif status == 429 and self.script.retry_after:
                error["details"] = [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{self.script.retry_after}s"}
                ]
            await self._write_json(writer, status, {"error": error}, extra)
        elif self.wire == "mistral":
            payload = {
                "object": "error",
                "message": message or _MISTRAL_MESSAGES.get(status, "Internal error"),
                "type": code or _MISTRAL_TYPES.get(status, "api_error"),
                "param": None,
                "code": str(status),
            }
            await self._write_json(writer, status, payload, extra)
        elif self.wire == "azure-openai":
            error = {"code": code or str(status), "message": message or _AZURE_MESSAGES.get(status, "Error")}
            if code == "content_filter":
                error.update(
                    param="prompt",
                    type=None,
                    status=400,
                    innererror={
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_result": {
                            "hate": {"filtered": False, "severity": "safe"},
                            "violence": {"filtered": True, "severity": "high"},
                        },
                    },
                )
            await self._write_json(writer, status, {"error": error}, extra)
        else:  # openai, llama (OpenAI-compatible servers answer in OpenAI's shape)
            default_message, default_code = _OPENAI_ERRORS.get(status, ("The server had an error.", None))
            error = {
                "message": message or default_message,
                "type": _OPENAI_TYPES.get(status, "server_error"),
                "param": None,
                "code": code or default_code,
            }
            await self._write_json(writer, status, {"error": error}, extra)

    # --- answers --------------------------------------------------------------------------------------------------

    def _answer_text(self, request: RecordedRequest) -> str:
        return self.answer(request) if self.answer is not None else self.script.text

    async def _write_completion(self, writer: asyncio.StreamWriter, request: RecordedRequest) -> None:
        """A non-streaming chat completion (the development engine answers both ways)."""
        text = self._answer_text(request)
        script = self.script
        output = script.output_tokens if script.output_tokens is not None else len(script.pieces(text))
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": _CREATED,
            "model": self._model(request),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": script.finish_reason or "stop",
                }
            ],
            "usage": self._openai_usage(output, request),
        }
        await self._write_json(writer, 200, payload)

    def _model(self, request: RecordedRequest) -> str:
        body = request.json if isinstance(request.json, dict) else {}
        return str(body.get("model") or FAKE_MODELS[self.wire])

    def input_tokens(self, request: RecordedRequest) -> int:
        if self.script.input_tokens >= 0:
            return self.script.input_tokens
        return estimate_tokens(request.body.decode("utf-8", "replace"))

    def _openai_usage(self, output: int, request: RecordedRequest) -> dict[str, Any]:
        script = self.script
        input_tokens = self.input_tokens(request)
        return {
            "prompt_tokens": input_tokens,
            "completion_tokens": output,
            "total_tokens": input_tokens + output,
            "prompt_tokens_details": {"cached_tokens": script.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    async def _stream(self, writer: asyncio.StreamWriter, request: RecordedRequest) -> None:
        script = self.script
        encoder = _ENCODERS[self.wire](self, request)
        await self._write_head(writer, 200, encoder.headers())

        pending = b""

        async def send(data: bytes, *, flush: bool = False) -> None:
            nonlocal pending
            if request.disconnected.is_set():
                raise _Cut
            if script.rechunk <= 0:
                if data:
                    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                pending += data
                while len(pending) >= script.rechunk or (flush and pending):
                    piece, pending = pending[: script.rechunk], pending[script.rechunk :]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()

        for frame in encoder.opening():
            await send(frame)
        pieces = script.pieces(self._answer_text(request))
        if script.first_delay:
            await asyncio.sleep(script.first_delay)
        for index, piece in enumerate(pieces):
            if script.cut_after is not None and index >= script.cut_after:
                raise _Cut
            if script.pause_after is not None and index == script.pause_after:
                await asyncio.sleep(script.pause)
            if script.error_after is not None and index >= script.error_after:
                await send(encoder.error())
                break
            if script.truncate_after is not None and index >= script.truncate_after:
                frame = encoder.delta(piece, index)
                await send(frame[: max(len(frame) // 2, 1)], flush=True)
                break
            frame = encoder.delta(piece, index)
            if script.bad_crc_after is not None and index >= script.bad_crc_after:
                frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
            if index == 0:
                request.first_byte_at = time.perf_counter()
            await send(frame)
            if script.delay and index < len(pieces) - 1:
                await asyncio.sleep(script.delay)
        else:
            if script.cut_after is not None and script.cut_after <= len(pieces):
                raise _Cut
            output = script.output_tokens if script.output_tokens is not None else len(pieces)
            for frame in encoder.closing(output):
                await send(frame)
        await send(b"", flush=True)
        if script.hold_open:
            await asyncio.sleep(script.hold_open)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


# --- the three wire formats -----------------------------------------------------------------------------------


class _OpenAIEncoder:
    """``data: {chunk}\\n\\n`` frames, ``data: [DONE]``; usage per flavour; Azure's filter frames."""

    def __init__(self, server: FakeEngineServer, request: RecordedRequest) -> None:
        self.server = server
        self.script = server.script
        self.wire = server.wire
        body = request.json if isinstance(request.json, dict) else {}
        options = body.get("stream_options")
        self.include_usage = self.script.send_usage and (
            self.wire == "mistral" or (isinstance(options, dict) and options.get("include_usage") is True)
        )
        self.model = server._model(request)
        self.request = request

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive"),
            ("x-request-id", "req_fake"),
        ]

    def _frame(self, payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        if self.wire == "azure-openai" and self.script.filter_frames:
            choice["content_filter_results"] = _AZURE_FILTER_RESULTS
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [choice],
        }
        if self.include_usage and self.wire != "mistral":
            chunk["usage"] = None
        return chunk

    def opening(self) -> list[bytes]:
        frames = []
        if self.wire == "azure-openai" and self.script.filter_frames:
            frames.append(
                self._frame(
                    {
                        "choices": [],
                        "created": 0,
                        "id": "",
                        "model": "",
                        "object": "",
                        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _AZURE_FILTER_RESULTS}],
                    }
                )
            )
        frames.append(self._frame(self._chunk({"role": "assistant", "content": ""}, None)))
        return frames

    def delta(self, text: str, index: int) -> bytes:
        return self._frame(self._chunk({"content": text}, None))

    def closing(self, output: int) -> list[bytes]:
        finish = self._chunk({}, self.script.finish_reason or "stop")
        usage = self.server._openai_usage(output, self.request)
        if self.wire == "mistral":
            finish["usage"] = {k: usage[k] for k in ("prompt_tokens", "total_tokens", "completion_tokens")}
            if not self.include_usage:
                del finish["usage"]
        frames = [self._frame(finish)]
        if self.wire == "azure-openai" and self.script.filter_frames:
            frames.append(
                self._frame(
                    {
                        "choices": [],
                        "created": 0,
                        "id": "",
                        "model": "",
                        "object": "",
                        "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 40},
                    }
                )
            )
        if self.include_usage and self.wire != "mistral":
            frames.append(
                self._frame(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": _CREATED,
                        "model": self.model,
                        "system_fingerprint": "fp_fake",
                        "choices": [],
                        "usage": usage,
                    }
                )
            )
        frames.append(b"data: [DONE]\n\n")
        return frames

    def error(self) -> bytes:
        return self._frame(
            {
                "error": {
                    "message": self.script.error_message
                    or "The server had an error while processing your request. Sorry about that!",
                    "type": self.script.error_code or "server_error",
                    "param": None,
                    "code": None,
                }
            }
        )


class _GeminiEncoder:
    """``data: {GenerateContentResponse}\\r\\n\\r\\n`` frames with a running usageMetadata; no [DONE]."""

    def __init__(self, server: FakeEngineServer, request: RecordedRequest) -> None:
        self.script = server.script
        match = re.search(r"/models/([^/:]+):", request.url_path)
        self.model = unquote(match.group(1)) if match else FAKE_MODELS["google"]
        self.input_tokens = server.input_tokens(request)
        self.sent = 0

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "text/event-stream"),
            ("Transfer-Encoding", "chunked"),
            ("Vary", "Origin, X-Origin, Referer"),
            ("Server", "scaffolding on HTTPServer2"),
        ]

    def _frame(self, payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\r\n\r\n"

    def _usage(self, output: int) -> dict[str, Any]:
        usage = {
            "promptTokenCount": self.input_tokens,
            "candidatesTokenCount": output,
            "totalTokenCount": self.input_tokens + output,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.input_tokens}],
        }
        if self.script.cached_tokens:
            usage["cachedContentTokenCount"] = self.script.cached_tokens
        return usage

    def _response(self, text: str, output: int, finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(output),
            "modelVersion": self.model,
            "responseId": "fake-response-id",
        }

    def opening(self) -> list[bytes]:
        return []

    def delta(self, text: str, index: int) -> bytes:
        self.sent = index + 1
        return self._frame(self._response(text, self.sent, None))

    def closing(self, output: int) -> list[bytes]:
        if not self.script.send_usage:
            final = self._response("", output, self.script.finish_reason or "STOP")
            del final["usageMetadata"]
            return [self._frame(final)]
        return [self._frame(self._response("", output, self.script.finish_reason or "STOP"))]

    def error(self) -> bytes:
        return self._frame(
            {
                "error": {
                    "code": 500,
                    "message": self.script.error_message
                    or "An internal error has occurred. Please retry or report in "
                    "https://developers.generativeai.google/guide/troubleshooting",
                    "status": self.script.error_code or "INTERNAL",
                }
            }
        )


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (``application/vnd.amazon.eventstream``) with string headers (type 7), as
    Bedrock sends them: ``total length | headers length | CRC32 of those 8 bytes | headers | payload | CRC32 of
    everything before``, big-endian u32s, zlib CRC32. Written here from the format, apart from the decoder the
    adapter uses (botocore's ``EventStreamBuffer``), so that every Bedrock test also checks one against the
    other."""
    header_bytes = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        header_bytes += bytes([len(raw_name)]) + raw_name + b"\x07" + len(raw_value).to_bytes(2, "big") + raw_value
    prelude = struct.pack(">II", 16 + len(header_bytes) + len(payload), len(header_bytes))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + bytes(header_bytes) + payload
    return message + struct.pack(">I", zlib.crc32(message))


class _BedrockEncoder:
    """Binary event-stream messages: messageStart, contentBlockStart, contentBlockDelta..., contentBlockStop,
    messageStop, metadata (the only usage); exceptions as ``:message-type: exception``."""

    def __init__(self, server: FakeEngineServer, request: RecordedRequest) -> None:
        self.script = server.script
        self.input_tokens = server.input_tokens(request)

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "application/vnd.amazon.eventstream"),
            ("Transfer-Encoding", "chunked"),
            ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"),
        ]

    @staticmethod
    def _event(event_type: str, payload: dict[str, Any]) -> bytes:
        # Bedrock pads payloads with a "p" field so that frame sizes do not reveal the text's length.
        payload = {**payload, "p": "abcdefghijklmnopqrstuvwxyzABCDEF"[: 8 + len(event_type) % 16]}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
        return encode_message(headers, raw)

    def opening(self) -> list[bytes]:
        return [
            self._event("messageStart", {"role": "assistant"}),
            self._event("contentBlockStart", {"contentBlockIndex": 0, "start": {}}),
        ]

    def delta(self, text: str, index: int) -> bytes:
        return self._event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})

    def closing(self, output: int) -> list[bytes]:
        frames = [
            self._event("contentBlockStop", {"contentBlockIndex": 0}),
            self._event("messageStop", {"stopReason": self.script.finish_reason or "end_turn"}),
        ]
        if self.script.send_usage:
            usage = {
                "inputTokens": self.input_tokens,
                "outputTokens": output,
                "totalTokens": self.input_tokens + output,
            }
            if self.script.cached_tokens:
                usage["cacheReadInputTokens"] = self.script.cached_tokens
            frames.append(self._event("metadata", {"usage": usage, "metrics": {"latencyMs": 321}}))
        return frames

    def error(self) -> bytes:
        exception_type = self.script.error_code or "modelStreamErrorException"
        message = self.script.error_message or "The model stream was interrupted. Please try again."
        headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
        return encode_message(headers, json.dumps({"message": message}).encode())


_ENCODERS: dict[str, Callable[[FakeEngineServer, RecordedRequest], Any]] = {
    "openai": _OpenAIEncoder,
    "azure-openai": _OpenAIEncoder,
    "mistral": _OpenAIEncoder,
    "llama": _OpenAIEncoder,
    "google": _GeminiEncoder,
    "bedrock": _BedrockEncoder,
}


# --- SigV4, checked as AWS does: recompute the signature from the request received ----------------------------


def verify_sigv4(request: RecordedRequest, secrets: dict[str, str], region: str, service: str) -> bool:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = request.headers.get("authorization", "")
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        authorization,
    )
    amz_date = request.headers.get("x-amz-date", "")
    if not match or not amz_date.startswith(match.group(2)):
        return False
    access_key, _day, signed_region, signed_service, signed_headers, signature = match.groups()
    secret = secrets.get(access_key)
    if secret is None or signed_region != region or signed_service != service:
        return False
    names = signed_headers.split(";")
    if "host" not in names or any(name not in request.headers for name in names):
        return False
    rebuilt = AWSRequest(
        method=request.method,
        url=f"http://{request.headers['host']}{request.path}",
        data=request.body,
        headers={name: request.headers[name] for name in names if name != "host"},
    )
    rebuilt.context["timestamp"] = amz_date
    token = request.headers.get("x-amz-security-token")
    signer = SigV4Auth(Credentials(access_key, secret, token), service, region)
    canonical = signer.canonical_request(rebuilt)
    expected = signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)
    return hmac.compare_digest(expected, signature)


# --- the providers' own words ---------------------------------------------------------------------------------

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_OPENAI_ERRORS = {
    401: (
        "Incorrect API key provided: sk-fake****cdef. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_api_key",
    ),
    404: ("The model `gpt-unknown` does not exist or you do not have access to it.", "model_not_found"),
    429: (
        "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, "
        "Requested 1. Please try again in 20s.",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", None),
}
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
    500: "server_error",
}
_AZURE_NO_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)
_AZURE_MESSAGES = {
    401: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for "
    "an active subscription and use a correct regional API endpoint for your resource.",
    404: "Resource not found",
    429: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded "
    "token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.",
    400: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
}
_AZURE_FILTER_RESULTS = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}
_MISTRAL_MESSAGES = {401: "Unauthorized", 404: "Invalid model: mistral-unknown", 429: "Requests rate limit exceeded"}
_MISTRAL_TYPES = {401: "unauthorized", 404: "invalid_model", 429: "rate_limited"}
_GOOGLE_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_GOOGLE_MESSAGES = {
    403: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or "
    "other form of API consumer identity to call this API.",
    404: "models/gemini-unknown is not found for API version v1beta, or is not supported for generateContent. "
    "Call ListModels to see the list of available models and their supported methods.",
    429: "You exceeded your current quota, please check your plan and billing details.",
}
_BEDROCK_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_BEDROCK_MESSAGES = {
    400: "The provided model identifier is invalid.",
    403: "You don't have access to the model with the specified model ID.",
    404: "Model not found.",
    429: "Too many requests, please wait before trying again.",
    500: "Internal server error.",
    503: "Service unavailable.",
}
_AWS_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake LLM server on loopback (tests and benchmarks only).")
    parser.add_argument("--wire", choices=WIRES, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = FakeEngineServer(args.wire, host=args.host, port=args.port)

    async def run() -> None:
        await server.start_async()
        print(f"{server.base_url}", flush=True)
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
