"""A plain-asyncio network backend for httpx2's connection pool.

httpcore2's default backend goes through anyio: every socket read opens a cancel scope for the read timeout and
registers then unregisters the socket with the selector. An answer streams as hundreds of small reads, and on
loopback that bookkeeping was most of the CPU an answer cost (bench/engines.py). Here a connection is an
asyncio stream: the transport keeps the socket registered, and a read with a timeout is one timer.

httpcore2 documents ``network_backend`` as its extension point; httpx2's transport does not expose it, hence
the small subclass below (httpx2 is pinned, and the engine tests run every request through it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2


class AsyncioStream(httpcore2.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:
                return await self._reader.read(max_bytes)
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore2.ReadTimeout("read timed out") from None
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from None

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


class AsyncioTransport(httpx2.AsyncHTTPTransport):
    """httpx2's HTTP transport (request mapping, error mapping, pooling) on the asyncio backend above."""

    def __init__(self, *, limits: httpx2.Limits, verify: ssl.SSLContext | None = None) -> None:
        context = verify if verify is not None else default_ssl_context()
        super().__init__(limits=limits, verify=context)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
