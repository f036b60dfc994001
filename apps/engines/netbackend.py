"""A plain-asyncio network backend for httpx2's connection pool.

httpcore2's default backend goes through anyio: every socket read opens a cancel scope for the read timeout and
registers then unregisters the socket with the selector. An answer streams as hundreds of small reads, and on
loopback that bookkeeping was most of the CPU an answer cost (bench/engines.py). Here a connection is an
asyncio stream: the transport keeps the socket registered, and a read with a timeout is one timer.

httpcore2 documents ``network_backend`` as its extension point; httpx2's transport does not expose it, hence
the small subclass below (httpx2 is pinned, and the engine tests run every request through it).

Providers send every event of a stream as its own HTTP/1.1 chunk, and h11 makes one ``Data`` event of each chunk,
which then went up through h11's state machine, httpcore2's and httpx2's iterators and the adapter's loop one by
one: for a fast model whose tokens arrive back to back that was more than half the CPU of an answer (9 of 16 ms
per 1,000 deltas). The connections of this pool hand h11 a ``CoalescingChunkedReader`` for a chunked body, which
returns every chunk already received as one ``Data`` (1.8 ms per 1,000 chunks). Chunk boundaries carry no meaning
in HTTP (any proxy may re-chunk), and the adapters' parsers take frames split across and packed within chunks.
The hook uses private parts of the pinned httpcore2 and h11 (the connection's ``_h11_state``, its ``_reader``,
h11's ``ChunkedReader`` and receive buffer); ``test_chunked_reader.py`` fails if an upgrade breaks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import h11
import httpcore2
import httpx2
from h11._readers import ChunkedReader


class _ReadTimedOut(Exception):
    """Set on a connection's reader by its read deadline: the read waiting on it raises this."""


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """One connection. A read's timeout is watched by one timer per connection, re-armed when it fires, not by a
    timer set and cancelled around every read (an answer is hundreds of reads, and that was a few per cent of
    the event loop's CPU while answers streamed): when a read has waited ``timeout`` seconds, the timer fails the
    reader, and the read raises ``ReadTimeout``. The connection is then closed by httpcore2, as after any read
    error."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._deadline: asyncio.TimerHandle | None = None
        self._read_timeout = 0.0
        self._read_since: float | None = None  # the loop time the waiting read started at; None: no read waits

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:
                return await self._reader.read(max_bytes)
            if self._deadline is None or timeout < self._read_timeout:
                self._watch(timeout)
            else:
                self._read_timeout = timeout  # longer: the armed timer, when it fires, waits for what is left
            self._read_since = self._loop.time()
            try:
                return await self._reader.read(max_bytes)
            finally:
                self._read_since = None
        except _ReadTimedOut:
            raise httpcore2.ReadTimeout("read timed out") from None
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from None

    def _watch(self, timeout: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._read_timeout = timeout
        self._deadline = self._loop.call_later(timeout, self._check_deadline)

    def _check_deadline(self) -> None:
        self._deadline = None
        if self._read_since is None:
            return  # no read waits: the next one arms the timer again
        left = self._read_timeout - (self._loop.time() - self._read_since)
        if left <= 0.001:  # the loop's clock ticks in milliseconds
            self._reader.set_exception(_ReadTimedOut())
        else:
            self._deadline = self._loop.call_later(left, self._check_deadline)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore2.WriteTimeout("write timed out") from None
        except OSError as exc:
            raise httpcore2.WriteError(str(exc)) from None

    async def aclose(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._writer.close()
        with contextlib.suppress(OSError):  # closing a connection the peer already dropped
            await self._writer.wait_closed()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        try:
            await self._writer.start_tls(ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except TimeoutError:
            raise httpcore2.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # The pool asks before reusing an idle connection: one the server closed must not be reused.
            return self._reader.at_eof() or self._reader.exception() is not None or self._writer.transport.is_closing()
        return None


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError:
            raise httpcore2.ConnectTimeout("connect timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError:
            raise httpcore2.ConnectTimeout("connect timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's trust store, built once per process (about 100 ms): a new event loop gets a new client,
    not a new TLS context."""
    return httpx2.create_ssl_context()


# A chunk size as h11 reads it, without extensions or whitespace (those, and the last chunk, go to h11's reader).
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,20}")
_CRLF = b"\r\n"


class CoalescingChunkedReader:
    """A reader of a chunked body for h11 that returns everything the receive buffer holds as one ``Data`` event
    instead of one event per chunk.

    It reads the plain chunks (``size CRLF data CRLF``, also a chunk split across reads) itself, in one pass over
    the buffer. At the first chunk header it does not take as it is (an extension, whitespace, a size that is no
    hex number, the last chunk ``0`` and its trailers) it hands the rest of the body, from that header on, to
    h11's own ``ChunkedReader``, whose events it still joins: so the errors, their messages and the trailers
    are h11's. An error after some data comes on the next call, after that data, as it would from h11 alone."""

    def __init__(self, inner: ChunkedReader) -> None:
        self._inner = inner  # h11's reader, fresh: it takes over at a chunk header
        self._own = True
        self._left = 0  # bytes of the current chunk's data still to come
        self._footer = b""  # the part of the CRLF after the chunk's data still to come
        self._held: h11.Event | h11.ProtocolError | None = None

    def __call__(self, buf: Any) -> h11.Event | None:
        held = self._held
        if held is not None:
            self._held = None
            if isinstance(held, h11.ProtocolError):
                raise held
            return held
        if not self._own:
            return self._from_inner(buf)
        data = bytes(buf)
        size = len(data)
        pos = 0
        parts: list[bytes] = []
        left, footer = self._left, self._footer
        while pos < size:
            if left:
                end = min(pos + left, size)
                parts.append(data[pos:end])
                left -= end - pos
                pos = end
                if left:
                    break
                footer = _CRLF
            if footer:
                got = data[pos : pos + len(footer)]
                if not footer.startswith(got):
                    self._held = h11.LocalProtocolError(
                        f"malformed chunk footer: {bytearray(got)!r} (expected {footer!r})"
                    )
                    break
                pos += len(got)
                footer = footer[len(got) :]
                if footer:
                    break
            eol = data.find(_CRLF, pos)
            if eol < 0:
                if size - pos > 22:  # longer than any size line this reader takes
                    self._own = False
                break
            if not _CHUNK_SIZE.fullmatch(data, pos, eol) or not (left := int(data[pos:eol], 16)):
                self._own = False  # h11 reads this header, its chunk and the rest of the body
                break
            pos = eol + 2
        self._left, self._footer = left, footer
        if pos:
            buf.maybe_extract_at_most(pos)
        if parts:
            return h11.Data(data=parts[0] if len(parts) == 1 else b"".join(parts))
        if self._held is not None:
            return self(buf)
        return None if self._own else self._from_inner(buf)

    def _from_inner(self, buf: Any) -> h11.Event | None:
        inner = self._inner
        parts: list[bytes] | None = None
        first = inner(buf)
        if first.__class__ is not h11.Data:
            return first
        while buf:
            try:
                event = inner(buf)
            except h11.ProtocolError as exc:
                self._held = exc
                break
            if event is None:
                break
            if event.__class__ is not h11.Data:
                self._held = event
                break
            if parts is None:
                parts = [first.data]
            parts.append(event.data)
        return first if parts is None else h11.Data(data=b"".join(parts))

    def read_eof(self) -> h11.Event:
        return self._inner.read_eof()  # h11's: a body that ends before its last chunk is incomplete


class _HTTPConnection(httpcore2.AsyncHTTPConnection):
    """httpcore2's connection, whose chunked response bodies are read with ``CoalescingChunkedReader``."""

    async def handle_async_request(self, request: httpcore2.Request) -> httpcore2.Response:
        response = await super().handle_async_request(request)
        # The response head is in and h11 has just chosen the body's reader, which has not been called yet.
        h11_state = getattr(self._connection, "_h11_state", None)
        reader = getattr(h11_state, "_reader", None)
        if reader.__class__ is ChunkedReader:
            h11_state._reader = CoalescingChunkedReader(reader)
        return response


class _ConnectionPool(httpcore2.AsyncConnectionPool):
    def create_connection(self, origin: httpcore2.Origin) -> httpcore2.AsyncConnectionInterface:
        connection = super().create_connection(origin)
        # Made by httpcore2 with the pool's settings, then given the subclass (it adds no state). A proxy's
        # connection would be another class: the engines' pool has no proxy.
        if connection.__class__ is httpcore2.AsyncHTTPConnection:
            connection.__class__ = _HTTPConnection
        return connection


class AsyncioTransport(httpx2.AsyncHTTPTransport):
    """httpx2's HTTP transport (request mapping, error mapping, pooling) on the asyncio backend above."""

    def __init__(self, *, limits: httpx2.Limits, verify: ssl.SSLContext | None = None) -> None:
        context = verify if verify is not None else default_ssl_context()
        super().__init__(limits=limits, verify=context)
        self._pool = _ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
