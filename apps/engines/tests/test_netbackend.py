"""The asyncio network backend under httpx2: TLS, pooled connections the server closed, and its timeouts."""

import asyncio
import ssl
import subprocess
from contextlib import aclosing

import httpx2
import pytest

from apps.engines.base import EngineError, TextDelta
from apps.engines.fakes import FAKE_API_KEY, FakeEngineServer
from apps.engines.netbackend import AsyncioTransport
from apps.engines.service import stream_answer
from apps.engines.tests.helpers import collect

LIMITS = httpx2.Limits(max_connections=4)
BODY = b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}'


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl, as Debian ships it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_fake(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with FakeEngineServer("openai", ssl_context=context) as server:
        yield server


async def _post(client: httpx2.AsyncClient, url: str) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {FAKE_API_KEY}", "Content-Type": "application/json"}
    async with client.stream("POST", url, content=BODY, headers=headers) as response:
        return response.status_code, b"".join([chunk async for chunk in response.aiter_raw()])


def test_streams_over_tls_when_the_certificate_is_trusted(tls_fake, certificate):
    async def scenario():
        trusted = ssl.create_default_context(cafile=str(certificate[0]))
        async with httpx2.AsyncClient(transport=AsyncioTransport(limits=LIMITS, verify=trusted)) as client:
            return await _post(client, f"{tls_fake.base_url}/chat/completions")

    status, body = asyncio.run(scenario())

    assert status == 200
    assert b'"content":"Hello! "' in body
    assert body.endswith(b"data: [DONE]\n\n")
    assert tls_fake.last.headers["authorization"] == f"Bearer {FAKE_API_KEY}"


def test_refuses_a_certificate_it_does_not_trust(tls_fake):
    async def scenario():
        async with httpx2.AsyncClient(transport=AsyncioTransport(limits=LIMITS)) as client:
            await _post(client, f"{tls_fake.base_url}/chat/completions")

    with pytest.raises(httpx2.ConnectError):
        asyncio.run(scenario())
    assert tls_fake.requests == []


def test_pooled_connection_closed_by_the_server_is_not_reused(make_fake):
    fake = make_fake("openai")
    port = fake.port

    async def scenario():
        await collect_async(fake.config())
        fake.stop()  # drops every connection, including the idle pooled one
        restarted = make_fake("openai", port=port)
        await asyncio.sleep(0.05)
        return await collect_async(restarted.config()), restarted

    (deltas, finish), restarted = asyncio.run(scenario())

    assert deltas
    assert finish.reason == "stop"
    assert len(restarted.requests) == 1


async def collect_async(config):
    deltas, finish = [], None
    async with aclosing(stream_answer(config, instructions="", history=(), prompt="Hi")) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                deltas.append(event.text)
            else:
                finish = event
    return deltas, finish


def test_connect_error_when_nothing_listens(make_fake):
    fake = make_fake("openai")
    config = fake.config(connect_timeout=1.0)
    fake.stop()

    with pytest.raises(EngineError) as caught:
        collect(config)

    assert caught.value.kind == "provider_error"
    assert caught.value.message == "could not connect to 127.0.0.1"
